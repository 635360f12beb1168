import { type UploadControlProps, useUploadControl } from "./control";
import { UploadList } from "./UploadList";

/** `multiple` and `showList` default to false; the label to "Choose a file" (or "Choose files"). */
export type UploadButtonProps = UploadControlProps;

/** A plain `<button>` that picks files and uploads them. */
export function UploadButton(props: UploadButtonProps) {
  const multiple = props.multiple ?? false;
  const { uploads, picker } = useUploadControl(props, multiple);
  return (
    <>
      <button type="button" className={props.className} disabled={props.disabled} onClick={picker.open}>
        {props.children ?? (multiple ? "Choose files" : "Choose a file")}
      </button>
      {picker.input}
      {props.showList ? <UploadList items={uploads.items} /> : null}
    </>
  );
}
