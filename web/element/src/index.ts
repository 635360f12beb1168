// <uploadgate-dropzone>, without registering it: call
// `defineUploadgateDropzone()` (or import "@uploadgate/element/define").
export { UploadgateDropzone, defineUploadgateDropzone } from "./dropzone";
export type { UploadgateEventDetail, UploadgateEventMap } from "./events";
