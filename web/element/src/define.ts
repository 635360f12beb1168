// Importing this registers <uploadgate-dropzone> (the one side effect of the package).
import { defineUploadgateDropzone } from "./dropzone";

defineUploadgateDropzone();

export { UploadgateDropzone } from "./dropzone";
