// Building DOM nodes without templates: el("p", { class: "notice", onclick: f }, "text", child).

/** An element with attributes (`class`, `on<event>` listeners, `true` as an empty boolean
 * attribute; null, undefined and false left out) and children (nodes or text, nested arrays
 * flattened, null, undefined and false skipped). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
