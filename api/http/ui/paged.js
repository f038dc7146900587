// A cursor-paged list (`{items, next_cursor}`, newest first) shown a page at a time: the
// loader of the Audit and Library pages. `filter(params)` starts over with those filters,
// the "more" button appends the next page.

import { call, homeToken } from "./api.js";

/**
 * Wire `more` and return `{load, filter}` for the list at `path` (`/audit`, `/library`).
 * `show(items)` appends one page's items to `list` (emptied when the list starts over);
 * `status` says `count(shown)` ("3 entries", plus " so far" while there is more), `empty`
 * when nothing matched, or `failed(error)`.
 */
export function pagedList({ path, list, more, status, show, count, empty, failed }) {
  let params = new URLSearchParams();
  let cursor = null;
  let shown = 0;

  const load = async (fresh) => {
    if (fresh) {
      list.replaceChildren();
      cursor = null;
      shown = 0;
    }
    const page = new URLSearchParams(params);
    if (cursor) page.set("cursor", cursor);
    status.textContent = "Loading…";
    try {
      const data = await call("GET", `${path}?${page}`, { token: homeToken() });
      show(data.items);
      shown += data.items.length;
      cursor = data.next_cursor;
      more.hidden = !cursor;
      status.textContent = shown ? `${count(shown)}${cursor ? " so far" : ""}` : empty;
    } catch (error) {
      more.hidden = true;
      status.textContent = failed(error);
    }
  };
  const filter = (next) => {
    params = next;
    return load(true);
  };
  more.addEventListener("click", () => load(false));
  return { load, filter };
}
