// SPDX-License-Identifier: MIT
// CSV/TSV for previews (RFC 4180: quoted fields with "" inside, line
// breaks inside quotes, CRLF or LF). Reads at most 'maxRows' rows and
// says whether more follow; 'partial' says the text is the head of a
// longer file, so its last row may be cut and is dropped. Pure: no DOM.

// -> { rows: string[][], more: bool, count: number|null }: 'count' is the
// number of rows in the whole text when it was read to the end
// ('countAll', and not partial), else null.
export function parseCsv(text, { delimiter = ',', maxRows = Infinity, partial = false, countAll = false } = {}) {
  const s = String(text);
  const rows = [];
  let row = [];
  let field = '';
  let i = 0;
  let count = 0;
  let more = false;
  const n = s.length;
  let rowStarted = false;
  const endRow = () => {
    row.push(field);
    field = '';
    count++;
    if (rows.length < maxRows) rows.push(row);
    else more = true;
    row = [];
    rowStarted = false;
  };
  while (i < n) {
    if (more && !countAll) break;
    const c = s[i];
    if (c === '"' && field === '') {
      // a quoted field
      rowStarted = true;
      i++;
      let closed = false;
      while (i < n) {
        const d = s[i];
        if (d === '"') {
          if (s[i + 1] === '"') { field += '"'; i += 2; continue; }
          i++;
          closed = true;
          break;
        }
        field += d;
        i++;
      }
      if (!closed) { // the text ends inside quotes: a cut row, or a broken file
        if (!partial && !(more && !countAll)) endRow();
        row = null;
        break;
      }
      // anything up to the delimiter after the closing quote is kept
      while (i < n && s[i] !== delimiter && s[i] !== '\n' && s[i] !== '\r') field += s[i++];
      continue;
    }
    if (c === delimiter) { row.push(field); field = ''; rowStarted = true; i++; continue; }
    if (c === '\r' || c === '\n') {
      endRow();
      i += c === '\r' && s[i + 1] === '\n' ? 2 : 1;
      continue;
    }
    field += c;
    rowStarted = true;
    i++;
  }
  // the last row without a line break: whole unless the text was cut
  if (row && (rowStarted || field !== '') && !(more && !countAll)) {
    if (!partial) endRow();
  }
  return { rows, more, count: !partial && countAll ? count : null };
}
