import type { UploadRecord } from "@uploadgate/client";
import { UploadButton, UploadDropzone, useFilePicker, useUpload, useUploads } from "@uploadgate/react";
import { useState } from "react";

export function App() {
  const [verified, setVerified] = useState<UploadRecord[]>([]);
  // One list of uploads shared by the drop zone and the button.
  const files = useUploads({ onComplete: (record) => setVerified((all) => [...all, record]) });
  return (
    <main>
      <h1>Uploads</h1>
      <section aria-labelledby="files-heading">
        <h2 id="files-heading">Files</h2>
        <UploadDropzone uploads={files} className="dropzone" />
        <UploadButton uploads={files} multiple>
          Or choose files
        </UploadButton>
      </section>
      <section aria-labelledby="avatar-heading">
        <h2 id="avatar-heading">Avatar</h2>
        <Avatar />
      </section>
      <section aria-labelledby="verified-heading">
        <h2 id="verified-heading">Verified</h2>
        <ul id="verified">
          {verified.map((record) => (
            <li key={record.id} data-id={record.id} data-status={record.status}>
              {record.filename}: {record.status}, {record.size} bytes, {record.contentType}
            </li>
          ))}
        </ul>
      </section>
    </main>
  );
}

/** One file at a time with `useUpload`, shown in the app's own way. */
function Avatar() {
  const avatar = useUpload();
  const picker = useFilePicker({
    accept: "image/png,image/jpeg",
    onFiles: ([file]) => void avatar.upload(file!).catch(() => undefined),
  });
  const busy = avatar.state === "uploading" || avatar.state === "completing";
  return (
    <div id="avatar" data-state={avatar.state}>
      <button type="button" onClick={picker.open} disabled={busy}>
        Choose an avatar
      </button>
      {picker.input}
      <progress max={100} value={avatar.percent} aria-label="Avatar progress" />
      <p role="status">
        {avatar.state} {avatar.percent}%
        {avatar.record ? ` · ${avatar.record.status}` : ""}
        {avatar.error ? ` · ${avatar.error.message}` : ""}
      </p>
    </div>
  );
}
