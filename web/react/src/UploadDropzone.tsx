import { type CSSProperties, type DragEvent, type KeyboardEvent, useState } from "react";

import { type UploadControlProps, useUploadControl } from "./control";
import { UploadList } from "./UploadList";

/** `multiple` and `showList` default to true; the text to "Drop files here, or choose files". */
export interface UploadDropzoneProps extends UploadControlProps {
  style?: CSSProperties;
}

/**
 * A drop zone that is also a button (Enter or Space opens the file picker),
 * with the uploads it started listed below. Unstyled: the zone has
 * `data-dragging` while files are over it.
 */
export function UploadDropzone(props: UploadDropzoneProps) {
  const multiple = props.multiple ?? true;
  const disabled = props.disabled ?? false;
  const { uploads, picker } = useUploadControl(props, multiple);
  const [dragging, setDragging] = useState(false);

  const onDrop = (event: DragEvent<HTMLDivElement>) => {
    event.preventDefault();
    setDragging(false);
    if (disabled) return;
    const files = Array.from(event.dataTransfer.files);
    if (files.length > 0) uploads.add(multiple ? files : files.slice(0, 1));
  };
  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      picker.open();
    }
  };
  return (
    <div className={props.className} style={props.style}>
      <div
        role="button"
        tabIndex={disabled ? -1 : 0}
        aria-disabled={disabled || undefined}
        aria-controls={picker.inputId}
        data-dragging={dragging || undefined}
        onClick={picker.open}
        onKeyDown={onKeyDown}
        onDragEnter={(event) => {
          event.preventDefault();
          setDragging(true);
        }}
        onDragOver={(event) => event.preventDefault()}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        {props.children ?? "Drop files here, or choose files"}
      </div>
      {picker.input}
      {(props.showList ?? true) ? <UploadList items={uploads.items} /> : null}
    </div>
  );
}
