import type { ReactNode } from "react";

import { mergeOptions } from "./outcome";
import { useFilePicker } from "./useFilePicker";
import { type UseUploads, type UseUploadsOptions, useUploads } from "./useUploads";

/**
 * What the drop zone and the button have in common. With shared `uploads`,
 * the control's own `profile`, `filename`, `contentType` and `metadata` still
 * apply to the files it adds; its callbacks do not (the shared hook's do).
 */
export interface UploadControlProps extends UseUploadsOptions {
  /** Share uploads with other components (from `useUploads`); otherwise the control keeps its own. */
  uploads?: UseUploads;
  /** As the file input's `accept`, e.g. `image/*,.pdf`. */
  accept?: string;
  multiple?: boolean;
  disabled?: boolean;
  /** Show the uploads under the control. */
  showList?: boolean;
  /** What the control says. */
  children?: ReactNode;
  className?: string;
}

/** The uploads a control adds to (its own, or shared) and its file picker. */
export function useUploadControl(props: UploadControlProps, multiple: boolean) {
  const own = useUploads(props);
  const uploads = props.uploads ?? own;
  const picker = useFilePicker({
    accept: props.accept,
    multiple,
    disabled: props.disabled,
    onFiles: (files) => uploads.add(files, mergeOptions(props)),
  });
  return { uploads, picker };
}
