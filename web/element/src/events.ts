import type { Upload, UploadRecord } from "@uploadgate/client";

/** What every event of `<uploadgate-dropzone>` carries. */
export interface UploadgateEventDetail {
  upload: Upload;
  /** The file's name (`file` for a Blob without one). */
  name: string;
  loaded: number;
  total: number;
  /** 0 to 100, whole numbers. */
  percent: number;
  /** On `upload-complete`: the verified record; on `upload-error`, a rejected one's. */
  record?: UploadRecord;
  /** On `upload-error`. */
  error?: Error;
}

/** The events, which bubble and cross shadow roots. */
export interface UploadgateEventMap {
  "upload-start": CustomEvent<UploadgateEventDetail>;
  "upload-progress": CustomEvent<UploadgateEventDetail>;
  "upload-complete": CustomEvent<UploadgateEventDetail>;
  "upload-error": CustomEvent<UploadgateEventDetail>;
}
