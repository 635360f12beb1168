import { type ReactElement, useCallback, useId, useRef } from "react";

export interface FilePickerOptions {
  /** As the file input's `accept`, e.g. `image/*,.pdf`. */
  accept?: string;
  multiple?: boolean;
  disabled?: boolean;
  onFiles(files: File[]): void;
}

/** A hidden file input and a way to open it, for controls that are not inputs themselves. */
export function useFilePicker({ accept, multiple, disabled, onFiles }: FilePickerOptions): {
  open(): void;
  input: ReactElement;
  inputId: string;
} {
  const ref = useRef<HTMLInputElement>(null);
  const inputId = useId();
  const open = useCallback(() => {
    if (!disabled) ref.current?.click();
  }, [disabled]);
  const input = (
    <input
      ref={ref}
      id={inputId}
      type="file"
      hidden
      tabIndex={-1}
      accept={accept}
      multiple={multiple}
      disabled={disabled}
      onChange={(event) => {
        const files = Array.from(event.currentTarget.files ?? []);
        // Picking the same file again must fire `change` again.
        event.currentTarget.value = "";
        if (files.length > 0) onFiles(files);
      }}
    />
  );
  return { open, input, inputId };
}
