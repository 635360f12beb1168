// The tutorial's upload function, unchanged in substance: get a presigned URL,
// PUT the file to storage with progress, then tell the server it is done.

const status = document.getElementById("status");
const progress = document.getElementById("progress");

async function uploadFile(file) {
  // 1. Ask our API for a presigned URL.
  const response = await fetch("/api/upload/generate-url", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ fileName: file.name, fileType: file.type, fileSize: file.size }),
  });
  if (!response.ok) {
    const errorData = await response.json();
    throw new Error(errorData.error || "Failed to get upload URL");
  }
  const { presignedUrl, objectKey } = await response.json();

  // 2. Upload straight to S3, with progress.
  await new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) progress.value = Math.round((event.loaded / event.total) * 100);
    });
    xhr.addEventListener("load", () => (xhr.status === 200 ? resolve() : reject(new Error(`Upload failed: ${xhr.status}`))));
    xhr.addEventListener("error", () => reject(new Error("Upload failed")));
    xhr.open("PUT", presignedUrl);
    xhr.setRequestHeader("Content-Type", file.type);
    xhr.send(file);
  });

  // 3. Tell our API the upload is complete.
  const complete = await fetch("/api/upload/complete", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ objectKey }),
  });
  if (!complete.ok) {
    const errorData = await complete.json();
    throw new Error(errorData.error || "Failed to complete upload");
  }
  return complete.json();
}

document.getElementById("upload").addEventListener("click", async () => {
  const file = document.getElementById("file").files[0];
  if (!file) return;
  status.textContent = "Uploading...";
  try {
    const result = await uploadFile(file);
    status.textContent = result.message;
    status.dataset.state = "done";
  } catch (error) {
    status.textContent = error.message;
    status.dataset.state = "error";
  }
});
