import { STATE_LABELS } from "@uploadgate/client";

import type { UploadItem } from "./item";
import { isActive } from "./item";

export interface UploadListProps {
  items: UploadItem[];
  className?: string;
}

/**
 * One row per upload: name, progress, state, why it failed, and its controls.
 * Unstyled; rows carry `data-state` and `data-percent` for styles and tests.
 */
export function UploadList({ items, className }: UploadListProps) {
  return (
    <ul className={className} aria-live="polite">
      {items.map((item) => (
        <UploadRow key={item.key} item={item} />
      ))}
    </ul>
  );
}

function UploadRow({ item }: { item: UploadItem }) {
  const why = item.state === "rejected" ? item.record?.rejectReason : item.error?.message;
  return (
    <li
      data-state={item.state}
      data-percent={item.percent}
      data-resumed={item.resumedBytes || undefined}
      data-upload-id={item.record?.id}
    >
      <span data-part="name">{item.name}</span>{" "}
      <progress max={100} value={item.percent} aria-label={`${item.name} progress`} />{" "}
      <span data-part="status">
        {STATE_LABELS[item.state]}
        {item.state === "uploading" || item.state === "paused" ? ` ${item.percent}%` : ""}
      </span>
      {why && (item.state === "failed" || item.state === "rejected") ? (
        <span role="alert" data-part="error">
          {" "}
          {why}
        </span>
      ) : null}
      {item.state === "uploading" ? (
        <button type="button" aria-label={`Pause ${item.name}`} onClick={item.pause}>
          Pause
        </button>
      ) : null}
      {item.state === "paused" ? (
        <button type="button" aria-label={`Resume ${item.name}`} onClick={item.resume}>
          Resume
        </button>
      ) : null}
      {isActive(item.state) && item.state !== "completing" ? (
        <button type="button" aria-label={`Cancel ${item.name}`} onClick={() => void item.cancel()}>
          Cancel
        </button>
      ) : null}
    </li>
  );
}
