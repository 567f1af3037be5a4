import { labelText } from './descriptor.js';

/**
 * A metric's children by label values, one level per label name in
 * declaration order: a path of exact strings (undefined for a label left
 * out), so two different label sets never share a child. Every walk of the
 * tree is here.
 */
type Node<C> = Map<string | undefined, Node<C> | C>;

/** A label value as the tree's key: its text, undefined for a label left out, null for a value no label can have. */
function keyOf(raw: unknown): string | undefined | null {
  if (typeof raw === 'string' || raw === undefined) return raw;
  return labelText(raw) ?? null;
}

export class LabelTree<C> {
  private readonly root: Node<C> = new Map();

  constructor(private readonly depth: number) {}

  /** The child at these values (strings, or numbers as labels() takes them) if it exists; creates nothing. */
  find(values: readonly unknown[]): C | undefined {
    let node: Node<C> | C | undefined = this.root;
    for (let i = 0; i < values.length && node !== undefined; i++) {
      const key = keyOf(values[i]);
      node = key === null ? undefined : (node as Node<C>).get(key);
    }
    return node as C | undefined;
  }

  /**
   * The child at the values of `labels` for `names` (a labels object, in
   * label name order), walked without allocating; undefined when it is not there.
   */
  findByNames(labels: Readonly<Record<string, unknown>>, names: readonly string[]): C | undefined {
    let node: Node<C> | C | undefined = this.root;
    for (let i = 0; i < names.length && node !== undefined; i++) {
      const raw = labels[names[i]];
      const key = typeof raw === 'string' ? raw : keyOf(raw);
      node = key === null ? undefined : (node as Node<C>).get(key);
    }
    return node as C | undefined;
  }

  /** Puts `child` at `texts` (checked label values), making the path to it. */
  add(texts: readonly (string | undefined)[], child: C): void {
    let node = this.root;
    const last = texts.length - 1;
    for (let i = 0; i < last; i++) {
      let next = node.get(texts[i]) as Node<C> | undefined;
      if (!next) {
        next = new Map();
        node.set(texts[i], next);
      }
      node = next;
    }
    node.set(texts[last], child);
  }

  /** Takes the child at `texts` out, and every node it leaves empty (the tree holds only paths to children); returns it. */
  remove(texts: readonly (string | undefined)[]): C | undefined {
    const path: Array<Node<C>> = [this.root];
    const last = texts.length - 1;
    for (let i = 0; i < last; i++) {
      const next = path[i].get(texts[i]) as Node<C> | undefined;
      if (!next) return undefined;
      path.push(next);
    }
    const child = path[last].get(texts[last]) as C | undefined;
    if (!child) return undefined;
    for (let i = last; i >= 0; i--) {
      path[i].delete(texts[i]);
      if (path[i].size > 0) break;
    }
    return child;
  }

  /** Every child, depth first; walked without recursion, as the tree is as deep as there are label names. */
  all(): C[] {
    const out: C[] = [];
    if (this.depth === 0) return out;
    const open: Array<Iterator<Node<C> | C>> = [this.root.values()];
    while (open.length > 0) {
      const next = open[open.length - 1].next();
      if (next.done) open.pop();
      else if (open.length === this.depth) out.push(next.value as C);
      else open.push((next.value as Node<C>).values());
    }
    return out;
  }

  clear(): void {
    this.root.clear();
  }
}
