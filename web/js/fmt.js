// SPDX-License-Identifier: MIT
// Formatting: units that read well (mg/g/kg/t of CO2, Wh/kWh/MWh), times,
// durations, numbers; plus tiny DOM helpers shared by the views.

export function co2(g) {
  if (g === null || g === undefined || Number.isNaN(g)) return '—';
  const a = Math.abs(g);
  if (a === 0) return '0 g';
  if (a < 1) return sig(g * 1000) + ' mg';
  if (a < 1000) return sig(g) + ' g';
  if (a < 1e6) return sig(g / 1000) + ' kg';
  return sig(g / 1e6) + ' t';
}

export function energy(kwh) {
  if (kwh === null || kwh === undefined || Number.isNaN(kwh)) return '—';
  const a = Math.abs(kwh);
  if (a === 0) return '0 Wh';
  if (a < 1e-3) return sig(kwh * 3.6e6) + ' J';
  if (a < 1) return sig(kwh * 1000) + ' Wh';
  if (a < 1000) return sig(kwh) + ' kWh';
  return sig(kwh / 1000) + ' MWh';
}

// A file size: bytes below 1 KiB, then KiB, MiB, GiB (powers of 1024).
export function bytes(n) {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  if (Math.abs(n) < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${sig(v)} ${units[i]}`;
}

// Three significant digits, no exponent for ordinary magnitudes.
export function sig(x, digits = 3) {
  if (x === null || x === undefined) return '—';
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e6 || a < 1e-4) return x.toExponential(digits - 1);
  if (a >= 10 ** digits) return Math.round(x).toLocaleString('en-US');
  return String(Number(x.toPrecision(digits)));
}

export function metric(x) {
  if (x === null || x === undefined) return '—';
  if (typeof x === 'string') return x;
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a >= 1e6 || a < 1e-4)) return x.toExponential(3);
  return String(Number(x.toPrecision(5)));
}

export function duration(s) {
  if (s === null || s === undefined || !Number.isFinite(s)) return '—';
  if (s < 1) return Math.round(s * 1000) + ' ms';
  if (s < 60) return sig(s) + ' s';
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function time(ms) {
  if (!ms) return '—';
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function ago(ms) {
  if (!ms) return '—';
  const s = (Date.now() - ms) / 1000;
  if (s < 0) return time(ms);
  if (s < 60) return 'just now';
  if (s < 3600) return Math.floor(s / 60) + ' min ago';
  if (s < 86400) return Math.floor(s / 3600) + ' h ago';
  if (s < 86400 * 30) return Math.floor(s / 86400) + ' d ago';
  return time(ms).slice(0, 10);
}

// h('tag.class#id', {attrs, on*: handlers}, ...children)
export function h(spec, attrs, ...kids) {
  const m = /^([a-z0-9]+)?((?:[.#][\w-]+)*)$/i.exec(spec);
  const el = document.createElement((m && m[1]) || 'div');
  if (m && m[2]) {
    for (const part of m[2].match(/[.#][\w-]+/g)) {
      if (part[0] === '.') el.classList.add(part.slice(1));
      else el.id = part.slice(1);
    }
  }
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'text') el.textContent = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'value') el.value = v;
      else if (k === 'checked') el.checked = !!v;
      else el.setAttribute(k, v === true ? '' : v);
    }
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid === undefined || kid === null || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

export function statusBadge(status) {
  return h('span.badge.status-' + String(status || '').toLowerCase(), { text: status || '?' });
}

export function estimatedBadge() {
  return h('span.badge.est', {
    text: 'est.', title: 'estimated: some CPU or GPU energy comes from a model, not a hardware counter',
  });
}

export function debounce(fn, ms) {
  let t;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}
