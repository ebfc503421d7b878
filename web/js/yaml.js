// SPDX-License-Identifier: MIT
// A small YAML reader for the subset that MLflow's files use (MLmodel,
// conda.yaml, python_env.yaml, MLproject): what PyYAML's safe_dump writes.
// Block mappings and sequences, plain / single- / double-quoted scalars
// (also when folded over several lines, as PyYAML folds long strings at
// 80 columns), literal and folded block scalars (| >, with - + and an
// indentation digit), single-line flow collections ([a, b], {k: v}),
// comments, and one document (a leading --- is allowed). Scalars resolve
// as PyYAML's SafeLoader does for null, booleans, integers and floats;
// everything else stays a string.
//
// Anything outside the subset (anchors, aliases, tags, complex keys,
// several documents, multi-line flow collections, tabs in indentation)
// throws a YamlError naming the line, so a caller can fall back to showing
// the text. Mappings are objects without a prototype (a key such as
// "__proto__" is an ordinary key). Pure: no DOM.

export class YamlError extends Error {
  constructor(message, line) {
    super(line ? `line ${line}: ${message}` : message);
    this.line = line;
  }
}

const MAX_DEPTH = 64;

export function parseYaml(text) {
  const p = new Parser(String(text));
  return p.document();
}

// PyYAML SafeLoader resolution of a plain scalar.
export function resolvePlain(s) {
  if (s === '' || s === '~' || s === 'null' || s === 'Null' || s === 'NULL') return null;
  if (/^(?:true|True|TRUE|yes|Yes|YES|on|On|ON)$/.test(s)) return true;
  if (/^(?:false|False|FALSE|no|No|NO|off|Off|OFF)$/.test(s)) return false;
  if (/^[-+]?(?:0|[1-9][0-9_]*)$/.test(s)) return Number(s.replace(/_/g, ''));
  if (/^[-+]?0x[0-9a-fA-F_]+$/.test(s)) return (s[0] === '-' ? -1 : 1) * parseInt(s.replace(/[-+_]/g, ''), 16);
  if (/^[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?$/.test(s) && /[.eE]/.test(s)) {
    return Number(s.replace(/_/g, ''));
  }
  if (/^[-+]?\.(?:inf|Inf|INF)$/.test(s)) return s[0] === '-' ? -Infinity : Infinity;
  if (/^\.(?:nan|NaN|NAN)$/.test(s)) return NaN;
  return s;
}

function isBlank(raw) { return /^\s*(?:#.*)?$/.test(raw); }
function indentOf(raw) { return raw.length - raw.replace(/^ +/, '').length; }

// Where a comment starts in 'plain' text (" #" or "#" at the start), or -1.
function commentAt(s) {
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '#' && (i === 0 || s[i - 1] === ' ' || s[i - 1] === '\t')) return i;
  }
  return -1;
}
function stripComment(s) {
  const i = commentAt(s);
  return (i < 0 ? s : s.slice(0, i)).trimEnd();
}

// The end (index after the closing quote) of the quoted scalar that starts
// at s[from], or -1 when it does not close in 's'.
function quoteEnd(s, from) {
  const q = s[from];
  for (let i = from + 1; i < s.length; i++) {
    if (q === "'" && s[i] === "'") {
      if (s[i + 1] === "'") { i++; continue; }
      return i + 1;
    }
    if (q === '"') {
      if (s[i] === '\\') { i++; continue; }
      if (s[i] === '"') return i + 1;
    }
  }
  return -1;
}

// Line folding inside a quoted scalar: a line break between two lines is
// a space, each empty line a newline; lines lose surrounding blanks.
// In double quotes an escaped line end (a trailing backslash) joins the
// lines without anything.
function foldQuoted(inner, dq) {
  const parts = inner.split('\n');
  if (parts.length === 1) return inner;
  let out = parts[0].replace(/[ \t]+$/, '');
  let pendingBreaks = 0;
  let joinTight = false;
  for (let k = 1; k < parts.length; k++) {
    const last = k === parts.length - 1;
    let t = parts[k].replace(/^[ \t]+/, '');
    if (!last) t = t.replace(/[ \t]+$/, '');
    if (!last && t === '') { pendingBreaks++; continue; }
    if (dq && /(^|[^\\])(\\\\)*\\$/.test(out)) { out = out.slice(0, -1); joinTight = true; }
    if (joinTight) out += '\n'.repeat(pendingBreaks) + t;
    else out += (pendingBreaks ? '\n'.repeat(pendingBreaks) : ' ') + t;
    pendingBreaks = 0;
    joinTight = false;
  }
  return out;
}

const ESCAPES = { 0: '\0', a: '\x07', b: '\b', t: '\t', '\t': '\t', n: '\n', v: '\v', f: '\f', r: '\r', e: '\x1b',
  ' ': ' ', '"': '"', '/': '/', '\\': '\\', N: '\x85', _: '\xa0', L: '\u2028', P: '\u2029' };

function unescapeDouble(s, line) {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c !== '\\') { out += c; continue; }
    const e = s[++i];
    if (e in ESCAPES) { out += ESCAPES[e]; continue; }
    const len = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    const hex = s.slice(i + 1, i + 1 + len);
    if (!len || hex.length !== len || !/^[0-9a-fA-F]+$/.test(hex)) throw new YamlError(`bad escape \\${e || ''}`, line);
    out += String.fromCodePoint(parseInt(hex, 16));
    i += len;
  }
  return out;
}

// The value of a complete quoted scalar token (quotes included).
function quotedValue(tok, line) {
  const inner = tok.slice(1, -1);
  if (tok[0] === "'") return foldQuoted(inner, false).replace(/''/g, "'");
  return unescapeDouble(foldQuoted(inner, true), line);
}

function newMap() { return Object.create(null); }

class Parser {
  constructor(text) {
    this.lines = text.replace(/\r\n?/g, '\n').replace(/^\uFEFF/, '').split('\n');
    if (this.lines.length && this.lines[this.lines.length - 1] === '') this.lines.pop();
    this.i = 0;
    this.depth = 0;
  }

  // The next line that is not blank or a comment: {indent, content, n}
  // (content without the indentation), or null at the end.
  peek() {
    while (this.i < this.lines.length) {
      const raw = this.lines[this.i];
      if (!isBlank(raw)) {
        if (/^ *\t/.test(raw)) throw new YamlError('tab in indentation', this.i + 1);
        const indent = indentOf(raw);
        if (this.over && this.over.i === this.i) return this.over.line;
        return { indent, content: raw.slice(indent).replace(/\s+$/, ''), n: this.i + 1 };
      }
      this.i++;
    }
    return null;
  }
  next() { this.over = null; this.i++; }
  // Makes the rest of the current line look like a line of its own at
  // column 'indent' (the inline content of "- item").
  rewrite(indent, content) {
    this.over = { i: this.i, line: { indent, content, n: this.i + 1 } };
  }

  document() {
    let ln = this.peek();
    if (ln && ln.indent === 0 && /^%/.test(ln.content)) throw new YamlError('directives are not supported', ln.n);
    if (ln && ln.indent === 0 && /^---(?:\s|$)/.test(ln.content)) {
      const rest = stripComment(ln.content.slice(3)).trim();
      this.next();
      if (rest) throw new YamlError('content after --- is not supported', ln.n);
      ln = this.peek();
    }
    const v = ln ? this.block(ln.indent) : null;
    ln = this.peek();
    if (ln && ln.indent === 0 && /^\.\.\.(?:\s|$)/.test(ln.content)) { this.next(); ln = this.peek(); }
    if (ln) {
      if (/^---/.test(ln.content)) throw new YamlError('several documents are not supported', ln.n);
      throw new YamlError('unexpected indentation', ln.n);
    }
    return v;
  }

  // A node whose first line is at 'indent'.
  block(indent) {
    if (++this.depth > MAX_DEPTH) throw new YamlError('nested too deeply', this.peek().n);
    try {
      const ln = this.peek();
      if (isSeqItem(ln.content)) return this.seq(ln.indent);
      if (splitKey(ln.content, ln.n)) return this.map(ln.indent);
      this.next();
      return this.value(ln.content, ln.indent - 1, ln.n, false);
    } finally {
      this.depth--;
    }
  }

  map(indent) {
    const obj = newMap();
    for (let ln = this.peek(); ln && ln.indent >= indent; ln = this.peek()) {
      if (ln.indent > indent) throw new YamlError('unexpected indentation', ln.n);
      if (isSeqItem(ln.content)) break;
      const kv = splitKey(ln.content, ln.n);
      if (!kv) throw new YamlError('expected "key: value"', ln.n);
      if (Object.prototype.hasOwnProperty.call(obj, kv.key)) throw new YamlError(`duplicate key "${kv.key}"`, ln.n);
      this.next();
      obj[kv.key] = this.value(kv.rest, indent, ln.n, true);
    }
    return obj;
  }

  seq(indent) {
    const arr = [];
    for (let ln = this.peek(); ln && ln.indent >= indent; ln = this.peek()) {
      if (ln.indent > indent) throw new YamlError('unexpected indentation', ln.n);
      if (!isSeqItem(ln.content)) break;
      const rest = ln.content.slice(1);
      const inline = rest.replace(/^ +/, '');
      if (inline === '' || inline[0] === '#') {
        this.next();
        arr.push(this.value('', indent, ln.n, false));
      } else {
        this.rewrite(indent + 1 + rest.length - inline.length, inline);
        arr.push(this.block(indent + 1 + rest.length - inline.length));
      }
    }
    return arr;
  }

  // The value after "key:" (or of a sequence item) on line 'n', whose
  // parent node is at column 'parent'. 'rest' is the text after the ':'.
  value(rest, parent, n, inMap) {
    const text = rest.replace(/^\s+/, '');
    if (text === '' || text[0] === '#') {
      const ln = this.peek();
      if (ln && (ln.indent > parent || (inMap && ln.indent === parent && isSeqItem(ln.content)))) return this.block(ln.indent);
      return null;
    }
    const c = text[0];
    if (c === '&' || c === '*' || c === '!') throw new YamlError('anchors, aliases and tags are not supported', n);
    if (c === '|' || c === '>') return this.blockScalar(text, parent, n);
    if (c === "'" || c === '"') return this.quoted(text, n);
    if (c === '[' || c === '{') {
      const f = new Flow(stripComment(text), n);
      const v = f.node();
      f.end();
      return v;
    }
    if (c === '?' && /^\?(?:\s|$)/.test(text)) throw new YamlError('complex keys are not supported', n);
    // A plain scalar, possibly continued on more indented lines.
    let s = stripComment(text);
    const ended = commentAt(text) >= 0;
    let breaks = 0;
    while (!ended && this.i < this.lines.length) {
      const raw = this.lines[this.i];
      if (/^\s*$/.test(raw)) { breaks++; this.i++; continue; }
      const ind = indentOf(raw);
      const t = raw.slice(ind);
      if (ind <= parent || t[0] === '#') break;
      if (splitKey(t, this.i + 1) || isSeqItem(t)) break;
      s += (breaks ? '\n'.repeat(breaks) : ' ') + stripComment(t);
      breaks = 0;
      this.i++;
      if (commentAt(t) >= 0) break;
    }
    if (/:(?:[ \t]|$)/.test(s)) throw new YamlError('a mapping value is not allowed here', n);
    return resolvePlain(s);
  }

  quoted(text, n) {
    let buf = text;
    let end = quoteEnd(buf, 0);
    while (end < 0) {
      if (this.i >= this.lines.length) throw new YamlError('unterminated quoted string', n);
      buf += '\n' + this.lines[this.i++];
      end = quoteEnd(buf, 0);
    }
    const after = buf.slice(end);
    if (after.trim() && after.trim()[0] !== '#') throw new YamlError('unexpected text after a quoted string', n);
    if (after.trim() && !/^\s/.test(after)) throw new YamlError('unexpected text after a quoted string', n);
    return quotedValue(buf.slice(0, end), n);
  }

  blockScalar(text, parent, n) {
    const m = /^([|>])([-+]?)([1-9]?)([-+]?)\s*(#.*)?$/.exec(text);
    if (!m || (m[2] && m[4])) throw new YamlError('bad block scalar header', n);
    const folded = m[1] === '>';
    const chomp = m[2] || m[4];
    const base = Math.max(parent, 0);
    let ind = m[3] ? base + Number(m[3]) : -1;
    const body = [];
    while (this.i < this.lines.length) {
      const raw = this.lines[this.i];
      if (/^ *$/.test(raw)) { body.push(''); this.i++; continue; }
      const ri = indentOf(raw);
      if (ind < 0) {
        if (ri <= parent) break;
        ind = ri;
      }
      if (ri < ind) break;
      body.push(raw.slice(ind));
      this.i++;
    }
    // trailing blank lines are kept or dropped by the chomping indicator
    let trail = 0;
    while (body.length && body[body.length - 1] === '') { body.pop(); trail++; }
    let s;
    if (!folded) s = body.join('\n');
    else {
      s = '';
      for (let k = 0; k < body.length; k++) {
        const line = body[k];
        if (k === 0) { s = line; continue; }
        const prev = body[k - 1];
        const moreIndented = /^[ \t]/.test(line) || /^[ \t]/.test(prev);
        if (line === '') { s += '\n'; continue; }
        if (prev === '') s += moreIndented ? '\n' : '';
        else s += moreIndented ? '\n' : ' ';
        s += line;
      }
    }
    if (!body.length) return chomp === '+' ? '\n'.repeat(trail) : '';
    if (chomp === '-') return s;
    if (chomp === '+') return s + '\n' + '\n'.repeat(trail);
    return s + '\n';
  }
}

function isSeqItem(content) { return content === '-' || /^-[ \t]/.test(content); }

// "key: rest" on one line: {key, rest}, or null when the line is no
// mapping entry. Keys may be plain or quoted.
function splitKey(content, n) {
  const c = content[0];
  if (c === '?' && /^\?(?:\s|$)/.test(content)) throw new YamlError('complex keys are not supported', n);
  if (c === "'" || c === '"') {
    const end = quoteEnd(content, 0);
    if (end < 0) return null;
    const m = /^[ \t]*:(?:[ \t]|$)/.exec(content.slice(end));
    if (!m) return null;
    return { key: quotedValue(content.slice(0, end), n), rest: content.slice(end + m[0].length) };
  }
  if (c === '[' || c === '{' || c === '#' || c === '|' || c === '>' || isSeqItem(content)) return null;
  if (c === '&' || c === '*' || c === '!') {
    if (/^[^\s]+[ \t]*:(?:[ \t]|$)/.test(content)) throw new YamlError('anchors, aliases and tags are not supported', n);
    return null;
  }
  for (let i = 0; i < content.length; i++) {
    if (content[i] === '#' && i > 0 && /[ \t]/.test(content[i - 1])) return null;
    if (content[i] === ':' && (i + 1 === content.length || content[i + 1] === ' ' || content[i + 1] === '\t')) {
      const key = content.slice(0, i).trimEnd();
      if (!key) return null;
      return { key, rest: content.slice(i + 1) };
    }
  }
  return null;
}

// Single-line flow collections: [a, 'b', {k: v}], {k: v, l: [1, 2]}.
class Flow {
  constructor(s, n) { this.s = s; this.i = 0; this.n = n; this.depth = 0; }
  err(msg) { return new YamlError(msg + ' (multi-line flow collections are not supported)', this.n); }
  ws() { while (this.s[this.i] === ' ' || this.s[this.i] === '\t') this.i++; }
  end() {
    this.ws();
    if (this.i !== this.s.length) throw this.err('unexpected text after a flow collection');
  }
  node() {
    if (++this.depth > MAX_DEPTH) throw new YamlError('nested too deeply', this.n);
    this.ws();
    const c = this.s[this.i];
    let v;
    if (c === '[') v = this.list();
    else if (c === '{') v = this.obj();
    else v = this.scalar(false);
    this.depth--;
    return v;
  }
  list() {
    this.i++;
    const arr = [];
    this.ws();
    if (this.s[this.i] === ']') { this.i++; return arr; }
    for (;;) {
      arr.push(this.node());
      this.ws();
      const c = this.s[this.i++];
      if (c === ']') return arr;
      if (c !== ',') throw this.err('expected , or ]');
      this.ws();
      if (this.s[this.i] === ']') { this.i++; return arr; }
    }
  }
  obj() {
    this.i++;
    const o = newMap();
    this.ws();
    if (this.s[this.i] === '}') { this.i++; return o; }
    for (;;) {
      this.ws();
      const k = this.scalar(true);
      this.ws();
      let v = null;
      if (this.s[this.i] === ':') { this.i++; v = this.node(); }
      o[k === null ? 'null' : String(k)] = v;
      this.ws();
      const c = this.s[this.i++];
      if (c === '}') return o;
      if (c !== ',') throw this.err('expected , or }');
      this.ws();
      if (this.s[this.i] === '}') { this.i++; return o; }
    }
  }
  scalar(isKey) {
    const c = this.s[this.i];
    if (c === "'" || c === '"') {
      const end = quoteEnd(this.s, this.i);
      if (end < 0) throw this.err('unterminated quoted string');
      const v = quotedValue(this.s.slice(this.i, end), this.n);
      this.i = end;
      return v;
    }
    if (c === undefined) throw this.err('unexpected end of line');
    if (c === '&' || c === '*' || c === '!') throw new YamlError('anchors, aliases and tags are not supported', this.n);
    const start = this.i;
    while (this.i < this.s.length) {
      const d = this.s[this.i];
      if (d === ',' || d === ']' || d === '}' || d === '[' || d === '{') break;
      if (d === ':' && (isKey || /[\s,\]}]/.test(this.s[this.i + 1] || ' '))) break;
      this.i++;
    }
    return resolvePlain(this.s.slice(start, this.i).trim());
  }
}
