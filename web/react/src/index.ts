// React bindings for uploadgate: hooks over `@uploadgate/client` and unstyled,
// accessible components built on them. Nothing here touches a browser API
// before an effect or an event, so it renders on a server (Next.js) too.

export { UploadgateProvider, useUploadgate } from "./context";
export type { UploadgateProviderProps } from "./context";
export { useUploads } from "./useUploads";
export type { UseUploads, UseUploadsOptions } from "./useUploads";
export { useUpload } from "./useUpload";
export type { UseUpload } from "./useUpload";
export { useFilePicker } from "./useFilePicker";
export type { FilePickerOptions } from "./useFilePicker";
export { UploadList } from "./UploadList";
export type { UploadListProps } from "./UploadList";
export { UploadDropzone } from "./UploadDropzone";
export type { UploadDropzoneProps } from "./UploadDropzone";
export { UploadButton } from "./UploadButton";
export type { UploadButtonProps } from "./UploadButton";
export type { UploadControlProps } from "./control";
export type { UploadItem } from "./item";
