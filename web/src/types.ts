// Types of API v1, generated from the server's OpenAPI document (schema.d.ts,
// `npm run types`): a field renamed on the server fails this build.
import type { components, operations } from "./schema";

type Schemas = components["schemas"];
export type UploadRecord = Schemas["UploadRecord"];
export type UploadList = Schemas["UploadList"];
/** The filters and page of `GET /v1/uploads`. */
export type ListQuery = NonNullable<operations["list_uploads"]["parameters"]["query"]>;
export type UploadStatus = Schemas["UploadStatus"];
export type CreateUpload = Schemas["CreateUpload"];
export type SignedParts = Schemas["SignedParts"];
export type SignedPart = Schemas["SignedPart"];
export type UploadedPart = Schemas["UploadedPart"];
export type CompletedPart = Schemas["CompletedPart"];
export type DownloadLink = Schemas["DownloadLink"];
export type Problem = Schemas["Problem"];
/** Every `code` the server sends; each always comes with the same status. */
export type ErrorCode = Schemas["ErrorCode"];
export type Processing = Schemas["Processing"];
export type Thumbnail = Schemas["Thumbnail"];
