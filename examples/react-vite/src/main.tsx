import { Uploadgate } from "@uploadgate/client";
import { UploadgateProvider } from "@uploadgate/react";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";

import { App } from "./App";

// The app's backend says where uploadgate is and mints the user's upload
// tokens (see ../backend.mjs); the browser never holds an API key.
const config: { uploadgate: string } = await (await fetch("/config.json")).json();
const gate = new Uploadgate({
  baseUrl: config.uploadgate,
  token: async () => (await (await fetch("/api/upload-token")).json()).token,
});

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <UploadgateProvider client={gate}>
      <App />
    </UploadgateProvider>
  </StrictMode>,
);
