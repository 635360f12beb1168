import AwsS3 from "@uppy/aws-s3";
import Uppy from "@uppy/core";
import Dashboard from "@uppy/dashboard";
import "@uppy/core/css/style.min.css";
import "@uppy/dashboard/css/style.min.css";

const params = new URLSearchParams(location.search);
const uppy = new Uppy({ autoProceed: false })
  .use(Dashboard, { inline: true, target: "#uppy", proudlyDisplayPoweredByUppy: false })
  .use(AwsS3, {
    companionEndpoint: params.get("companion"),
    // Multipart for files whose name says so, however small; a POST form otherwise.
    shouldUseMultipart: (file) => file.name.includes(".parts."),
  });
window.uppy = uppy;
