import { Fragment, useState } from "react";
import { Link } from "react-router";

import type { Dataset, DatasetItem } from "../../api/types";
import { ErrorBox, Spinner } from "../../components/feedback";
import { EditItemDialog } from "./EditItemDialog";
import { glimpse, toJsonText } from "./jsonText";
import { useDeleteItem, useItems } from "./queries";

/** A version's items; the latest version's can be edited or deleted (each a new version). */
export function ItemsTable({ dataset, version, editable }: { dataset: Dataset; version: number; editable: boolean }) {
  const items = useItems(dataset.dataset_id, editable ? undefined : version);
  const [open, setOpen] = useState<string | null>(null);
  const [editing, setEditing] = useState<DatasetItem | null>(null);
  if (items.isPending) return <Spinner />;
  if (items.isError) return <ErrorBox error={items.error} />;
  const rows = items.data.pages.flatMap((page) => page.data);
  const shownVersion = items.data.pages[0]?.version ?? version;
  return (
    <>
      {!editable ? (
        <div className="note">
          Version {shownVersion} as it was: read only. Items are edited in the latest version (v{dataset.latest_version}
          ).
        </div>
      ) : null}
      <table className="grid items-table" data-testid="items">
        <colgroup>
          <col style={{ width: 120 }} />
          <col />
          <col />
          <col style={{ width: 150 }} />
          <col style={{ width: editable ? 130 : 0 }} />
        </colgroup>
        <thead>
          <tr>
            <th>Item</th>
            <th>Input</th>
            <th>Expected output</th>
            <th>Source</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rows.map((item) => (
            <Fragment key={item.item_id}>
              <tr data-testid="item-row" className={open === item.item_id ? "expanded" : ""}>
                <td>
                  <button
                    type="button"
                    className="link-button mono small"
                    aria-expanded={open === item.item_id}
                    title="Show the whole item"
                    onClick={() => setOpen(open === item.item_id ? null : item.item_id)}
                  >
                    {open === item.item_id ? "▾" : "▸"} {item.item_id.slice(-8)}
                  </button>
                  <div className="muted small">since v{item.valid_from}</div>
                </td>
                <td className="glimpse" title={glimpse(item.input, 2000)}>
                  {glimpse(item.input)}
                </td>
                <td className="glimpse" title={glimpse(item.expected_output, 2000)}>
                  {item.expected_output === null ? <span className="muted">—</span> : glimpse(item.expected_output)}
                </td>
                <td className="ellipsis">
                  {item.source_span_id ? (
                    <Link
                      className="mono small"
                      to={`/ui/traces/${item.source_span_id}`}
                      title="The call it was made from"
                    >
                      {item.source_span_id}
                    </Link>
                  ) : (
                    <span className="muted">—</span>
                  )}
                </td>
                <td className="num">
                  {editable ? (
                    <>
                      <button type="button" className="btn btn-small" onClick={() => setEditing(item)}>
                        Edit
                      </button>{" "}
                      <DeleteItem dataset={dataset} item={item} />
                    </>
                  ) : null}
                </td>
              </tr>
              {open === item.item_id ? (
                <tr className="expanded">
                  <td colSpan={5}>
                    <div className="item-detail">
                      <div>
                        <strong className="small">Input</strong>
                        <pre className="code">{toJsonText(item.input)}</pre>
                      </div>
                      <div>
                        <strong className="small">Expected output</strong>
                        <pre className="code">{toJsonText(item.expected_output)}</pre>
                      </div>
                    </div>
                    {Object.keys(item.metadata).length ? (
                      <details>
                        <summary className="small muted">Metadata</summary>
                        <pre className="code">{toJsonText(item.metadata)}</pre>
                      </details>
                    ) : null}
                  </td>
                </tr>
              ) : null}
            </Fragment>
          ))}
        </tbody>
      </table>
      <div className="list-footer">
        {items.hasNextPage ? (
          <button
            type="button"
            className="btn"
            disabled={items.isFetchingNextPage}
            onClick={() => void items.fetchNextPage()}
          >
            {items.isFetchingNextPage ? "Loading…" : "Load more"}
          </button>
        ) : (
          <span className="muted">
            {rows.length} item{rows.length === 1 ? "" : "s"} in version {shownVersion}.
          </span>
        )}
      </div>
      {editing ? <EditItemDialog dataset={dataset} item={editing} onClose={() => setEditing(null)} /> : null}
    </>
  );
}

function DeleteItem({ dataset, item }: { dataset: Dataset; item: DatasetItem }) {
  const remove = useDeleteItem(dataset.dataset_id);
  const [confirming, setConfirming] = useState(false);
  if (remove.isError) return <ErrorBox error={remove.error} />;
  if (!confirming) {
    return (
      <button type="button" className="btn btn-small" onClick={() => setConfirming(true)}>
        Delete
      </button>
    );
  }
  return (
    <button
      type="button"
      className="btn btn-small btn-danger"
      disabled={remove.isPending}
      onClick={() => remove.mutate({ itemId: item.item_id, baseVersion: dataset.latest_version })}
      onBlur={() => setConfirming(false)}
      autoFocus
    >
      Confirm
    </button>
  );
}
