// Shared by the driver page and the staff dashboard: translations, API
// calls, the town map (SVG, over raster tiles when parkd has a tile source)
// and the live feed (Server-Sent Events).
// Plain ES module, no dependencies; served by parkd from the binary.
import { crsOf, mercator, unmercator } from './geo.js?v=__V__';
import { TileLayer } from './tiles.js?v=__V__';

const SVGNS = 'http://www.w3.org/2000/svg'; // a namespace name, not a fetch

// ---------------------------------------------------------------- i18n

const STRINGS = {
  zh: {
    'lang.switch': 'English', 'lang.switch.label': 'Switch to English',
    'status.free': '空闲', 'status.occupied': '占用', 'status.unknown': '未知', 'status.closed': '关闭',
    'kind.any': '任意类型', 'kind.standard': '普通', 'kind.accessible': '无障碍', 'kind.ev': '充电', 'kind.loading': '装卸',
    'level.spacesAvailable': '有空位', 'level.almostFull': '将满', 'level.full': '已满', 'level.closed': '关闭', 'level.unknown': '未知',
    'zone.on_street': '路边', 'zone.off_street': '停车场',
    'live.on': '实时', 'live.off': '连接中…',
    'map.label': '邱隘镇停车位地图', 'map.zoomIn': '放大', 'map.zoomOut': '缩小', 'map.reset': '全镇',
    'legend': '图例', 'free.of': '{free}/{total} 空闲', 'm': '{d} 米', 'km': '{d} 公里',
    'error.load': '加载失败：{msg}',
  },
  en: {
    'lang.switch': '中文', 'lang.switch.label': '切换到中文',
    'status.free': 'Free', 'status.occupied': 'Occupied', 'status.unknown': 'Unknown', 'status.closed': 'Closed',
    'kind.any': 'Any kind', 'kind.standard': 'Standard', 'kind.accessible': 'Accessible', 'kind.ev': 'EV charging', 'kind.loading': 'Loading',
    'level.spacesAvailable': 'Available', 'level.almostFull': 'Almost full', 'level.full': 'Full', 'level.closed': 'Closed', 'level.unknown': 'Unknown',
    'zone.on_street': 'on-street', 'zone.off_street': 'car park',
    'live.on': 'Live', 'live.off': 'Connecting…',
    'map.label': 'Map of the parking spaces of Qiuai', 'map.zoomIn': 'Zoom in', 'map.zoomOut': 'Zoom out', 'map.reset': 'Whole town',
    'legend': 'Legend', 'free.of': '{free}/{total} free', 'm': '{d} m', 'km': '{d} km',
    'error.load': 'Could not load: {msg}',
  },
};

let current = 'zh';
const listeners = [];

/** Adds a page's own strings ({zh: {...}, en: {...}}). */
export function addStrings(more) {
  for (const l of Object.keys(more)) Object.assign(STRINGS[l], more[l]);
}

/** The current language: "zh" or "en". */
export function lang() { return current; }

/** Translates key, filling {name} from vars. */
export function t(key, vars = {}) {
  const s = STRINGS[current][key] ?? STRINGS.zh[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => (vars[k] ?? ''));
}

/** Calls fn after every language change (and not now). */
export function onLang(fn) { listeners.push(fn); }

/** Picks the language (?lang=, then localStorage, then zh), wires #lang and
 * translates the page. */
export function initLang() {
  const q = new URLSearchParams(location.search).get('lang');
  let l = q || safeGet(localStorage, 'parkd.lang') || 'zh';
  if (!STRINGS[l]) l = 'zh';
  setLang(l, false);
  const btn = document.getElementById('lang');
  if (btn) btn.addEventListener('click', () => setLang(current === 'zh' ? 'en' : 'zh', true));
}

function setLang(l, remember) {
  current = l;
  document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
  if (remember) {
    safeSet(localStorage, 'parkd.lang', l);
    const u = new URL(location.href);
    if (l === 'en') u.searchParams.set('lang', 'en'); else u.searchParams.delete('lang');
    history.replaceState(null, '', u);
  }
  translate(document);
  for (const fn of listeners) fn(l);
}

/** Translates the [data-i18n] text and [data-i18n-label|title|ph] attributes under root. */
export function translate(root) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll('[data-i18n-ph]')) el.placeholder = t(el.dataset.i18nPh);
  const title = document.querySelector('title[data-i18n]');
  if (title) document.title = title.textContent;
}

export function safeGet(store, k) { try { return store.getItem(k); } catch { return null; } }
export function safeSet(store, k, v) { try { if (v == null) store.removeItem(k); else store.setItem(k, v); } catch { /* private mode */ } }

// ---------------------------------------------------------------- API

/** An answer of the API that is not 2xx: status and the error body's code. */
export class APIError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

/** Calls the API and returns the decoded JSON; throws APIError. */
export async function api(path, { token = '', method = 'GET', body, cache = 'no-store' } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = 'Bearer ' + token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache });
  let data = null;
  try { data = await res.json(); } catch { /* empty or not JSON */ }
  if (!res.ok) {
    const e = data && data.error ? data.error : { code: 'http_' + res.status, message: res.statusText };
    throw new APIError(res.status, e.code, e.message);
  }
  return data;
}

// ---------------------------------------------------------------- geometry

const R = 6371008.8; // mean Earth radius, metres

/** Great-circle distance in metres. */
export function distance(lat1, lon1, lat2, lon2) {
  const rad = Math.PI / 180;
  const dLat = (lat2 - lat1) * rad, dLon = (lon2 - lon1) * rad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** A distance for people: "35 m", "1.2 km". */
export function fmtDistance(m) {
  return m < 1000 ? t('m', { d: Math.round(m) }) : t('km', { d: (m / 1000).toFixed(1) });
}

/** A time as HH:MM (local). */
export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString(lang() === 'zh' ? 'zh-CN' : 'en-GB', { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
}

// ---------------------------------------------------------------- map

/** Escapes text for an HTML/SVG attribute or text node. */
export function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

/** The town map: zones as light blocks with labels, every space as one
 * circle.space[data-id][data-status], over raster tiles when the map data
 * names a tile source; pan (drag, arrows) and zoom (wheel, pinch, double
 * tap, +/-). Coordinates are Web Mercator, in units of about a metre at the
 * town (the world is C units wide), from the town's centre, in the tiles'
 * coordinate system (WGS-84 or GCJ-02). */
export class TownMap {
  constructor(svg, { focusable = false, onPoint = null, onSpace = null, spaceTapZoomed = false } = {}) {
    this.svg = svg;
    this.focusable = focusable;
    this.onPoint = onPoint;
    this.onSpace = onSpace;
    this.spaceTapZoomed = spaceTapZoomed; // a tap picks a space only once zoomed in (else a point)
    this.els = new Map(); // space id -> element
    this.spaces = new Map(); // space id -> {id, zone, lat, lon, kind, status, x, y}
    this.zones = [];
    this.layers = {};
    for (const name of ['tiles', 'blocks', 'spaces', 'labels', 'overlay']) {
      const g = document.createElementNS(SVGNS, 'g');
      g.setAttribute('class', 'layer-' + name);
      svg.appendChild(g);
      this.layers[name] = g;
    }
    this.wire();
  }

  /** Draws the answer of /api/v1/map. */
  load(data) {
    const sp = data.spaces;
    this.els = new Map();
    this.spaces = new Map();
    // The town centre: the median space (where most spaces are), not the mean.
    const median = (k) => { const v = sp.map((s) => s[k]).sort((a, b) => a - b); return v.length ? v[v.length >> 1] : 0; };
    const lat0 = median(2), lon0 = median(3);
    this.lat0 = lat0; this.lon0 = lon0;
    this.setProjection(data.tiles);
    // One string parsed once is several times faster than 3718 createElementNS.
    const html = [];
    const byZone = new Map();
    let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    const tab = this.focusable ? ' tabindex="-1"' : '';
    for (const [id, zone, lat, lon, kind, status] of sp) {
      const [x, y] = this.project(lat, lon);
      this.spaces.set(id, { id, zone, lat, lon, kind, status, x, y });
      html.push(`<circle class="space" cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="2.4" data-id="${esc(id)}" data-status="${esc(status)}"${tab}/>`);
      let b = byZone.get(zone);
      if (!b) byZone.set(zone, b = { minX: x, minY: y, maxX: x, maxY: y });
      b.minX = Math.min(b.minX, x); b.minY = Math.min(b.minY, y); b.maxX = Math.max(b.maxX, x); b.maxY = Math.max(b.maxY, y);
      minX = Math.min(minX, x); minY = Math.min(minY, y); maxX = Math.max(maxX, x); maxY = Math.max(maxY, y);
    }
    this.layers.spaces.innerHTML = html.join('');
    for (const el of this.layers.spaces.children) this.els.set(el.dataset.id, el);
    if (this.focusable && sp.length) this.layers.spaces.firstElementChild.setAttribute('tabindex', '0');
    this.zones = data.zones.map((z) => ({ ...z, box: byZone.get(z.id) }));
    this.bounds = { minX, maxX };
    this.drawBlocks();
    const padX = (maxX - minX) * 0.07 + 20, padY = (maxY - minY) * 0.04 + 30;
    this.home = { x: minX - padX, y: minY - padY, w: maxX - minX + 2 * padX, h: maxY - minY + 2 * padY };
    this.setView(this.home);
  }

  drawBlocks() {
    const blocks = document.createDocumentFragment(), labels = document.createDocumentFragment();
    for (const z of this.zones) {
      if (!z.box) continue;
      const r = document.createElementNS(SVGNS, 'rect');
      const p = 12;
      r.setAttribute('x', z.box.minX - p); r.setAttribute('y', z.box.minY - p);
      r.setAttribute('width', z.box.maxX - z.box.minX + 2 * p); r.setAttribute('height', z.box.maxY - z.box.minY + 2 * p);
      r.setAttribute('rx', 8);
      r.setAttribute('class', 'block');
      r.dataset.zone = z.id;
      blocks.appendChild(r);
      const tx = document.createElementNS(SVGNS, 'text');
      // Labels near the town's left or right edge grow inwards, not off the map.
      const mid = (z.box.minX + z.box.maxX) / 2, span = this.bounds.maxX - this.bounds.minX;
      let x = mid, anchor = 'middle';
      if (mid < this.bounds.minX + span * 0.2) { x = z.box.minX - p; anchor = 'start'; }
      if (mid > this.bounds.maxX - span * 0.2) { x = z.box.maxX + p; anchor = 'end'; }
      tx.setAttribute('x', x); tx.setAttribute('y', z.box.minY - p - 6);
      tx.setAttribute('text-anchor', anchor);
      tx.setAttribute('class', 'zone-label');
      tx.textContent = z.name;
      labels.appendChild(tx);
    }
    this.layers.blocks.replaceChildren(blocks);
    this.layers.labels.replaceChildren(labels);
  }

  /** Sets the map's units from the town's centre and the tile source
   * (null: a schematic, in WGS-84), and starts drawing the tiles. */
  setProjection(tiles) {
    this.crs = crsOf(tiles ? tiles.crs : 'wgs84');
    const [clat, clon] = this.crs.from(this.lat0, this.lon0);
    const C = 2 * Math.PI * 6378137 * Math.cos(clat * Math.PI / 180); // a unit is about a metre here
    const [mx, my] = mercator(clat, clon);
    this.world = { C, x0: mx * C, y0: my * C };
    this.layers.tiles.replaceChildren();
    this.tiles = tiles ? new TileLayer(this.layers.tiles, tiles, this.world) : null;
    this.svg.classList.toggle('tiled', !!tiles);
    const wrap = this.svg.parentElement;
    let credit = wrap.querySelector('.attribution');
    if (tiles && !credit) {
      credit = document.createElement('p');
      credit.className = 'attribution';
      this.svg.after(credit);
    }
    if (credit) { credit.textContent = tiles ? tiles.attribution : ''; credit.hidden = !tiles; }
  }

  /** Map units of a WGS-84 position. */
  project(lat, lon) {
    const [x, y] = mercator(...this.crs.from(lat, lon));
    return [x * this.world.C - this.world.x0, y * this.world.C - this.world.y0];
  }

  /** The WGS-84 position of map units. */
  unproject(x, y) {
    return this.crs.to(...unmercator((x + this.world.x0) / this.world.C, (y + this.world.y0) / this.world.C));
  }

  /** The centre of the map's data, as [lat, lon]. */
  centre() { return [this.lat0, this.lon0]; }

  /** Sets a space's status; false for an unknown id. */
  setStatus(id, status) {
    const el = this.els.get(id), rec = this.spaces.get(id);
    if (!el) return false;
    el.dataset.status = status;
    rec.status = status;
    return true;
  }

  setView(v) {
    const rect = this.svg.getBoundingClientRect();
    const aspect = rect.width > 0 && rect.height > 0 ? rect.width / rect.height : 1.4;
    // Keep the view's aspect the element's, centred on the requested box.
    let { x, y, w, h } = v;
    if (w / h < aspect) { const nw = h * aspect; x -= (nw - w) / 2; w = nw; } else { const nh = w / aspect; y -= (nh - h) / 2; h = nh; }
    this.view = { x, y, w, h };
    this.svg.setAttribute('viewBox', `${x.toFixed(1)} ${y.toFixed(1)} ${w.toFixed(1)} ${h.toFixed(1)}`);
    const px = rect.width > 0 ? w / rect.width : 2; // metres per CSS pixel
    this.svg.style.setProperty('--label-size', (13 * px).toFixed(2) + 'px');
    this.svg.style.setProperty('--px', px.toFixed(3));
    this.svg.classList.toggle('zoomed', px < 1.2);
    // The zoom level of 256-pixel tiles this scale matches (tests and tiles).
    const pxPerUnit = rect.width > 0 ? rect.width / w : 0.5;
    this.svg.dataset.zoom = Math.log2(pxPerUnit * this.world.C / 256).toFixed(3);
    if (this.tiles) this.tiles.update(this.view, pxPerUnit);
    const m = this.layers.overlay.querySelector('.here');
    if (m) m.setAttribute('r', Math.max(6, 7 * px).toFixed(1));
    for (const r of this.layers.overlay.querySelectorAll('.ring')) r.setAttribute('r', Math.max(7, 5 * px).toFixed(1));
    this.px = px;
  }

  zoom(f, cx, cy) {
    const v = this.view;
    if (cx === undefined) { cx = v.x + v.w / 2; cy = v.y + v.h / 2; }
    const w = Math.min(Math.max(v.w * f, 40), this.home.w * 4);
    const k = w / v.w;
    this.setView({ x: cx - (cx - v.x) * k, y: cy - (cy - v.y) * k, w, h: v.h * k });
  }

  pan(dx, dy) { const v = this.view; this.setView({ x: v.x + dx, y: v.y + dy, w: v.w, h: v.h }); }

  reset() { this.setView(this.home); }

  /** Zooms to a zone's block. */
  showZone(id) {
    const z = this.zones.find((zz) => zz.id === id);
    if (!z || !z.box) return;
    const p = 40;
    this.setView({ x: z.box.minX - p, y: z.box.minY - p, w: z.box.maxX - z.box.minX + 2 * p, h: z.box.maxY - z.box.minY + 2 * p });
  }

  /** Shows a box of w metres around a point. */
  showAround(lat, lon, w) {
    const [x, y] = this.project(lat, lon);
    this.setView({ x: x - w / 2, y: y - w / 2, w, h: w });
  }

  /** Centres the map on a WGS-84 position at the scale of tile zoom z. */
  showAt(lat, lon, z) {
    const rect = this.svg.getBoundingClientRect();
    const [x, y] = this.project(lat, lon);
    const k = this.world.C / (256 * 2 ** z); // map units per CSS pixel
    const w = (rect.width || 400) * k, h = (rect.height || 300) * k;
    this.setView({ x: x - w / 2, y: y - h / 2, w, h });
  }

  /** Centres the map on a space, zoomed in. */
  showSpace(id) {
    const s = this.spaces.get(id);
    if (!s) return;
    const w = Math.min(this.view.w, 300);
    this.setView({ x: s.x - w / 2, y: s.y - w / 2, w, h: w });
  }

  /** The SVG point under a client (pointer) position. */
  toMap(clientX, clientY) {
    const r = this.svg.getBoundingClientRect(), v = this.view;
    return [v.x + (clientX - r.left) / r.width * v.w, v.y + (clientY - r.top) / r.height * v.h];
  }

  /** Draws (or moves) the "you are here" marker. */
  marker(lat, lon) {
    const [x, y] = this.project(lat, lon);
    let m = this.layers.overlay.querySelector('.here');
    if (!m) {
      m = document.createElementNS(SVGNS, 'circle');
      m.setAttribute('class', 'here');
      m.setAttribute('r', Math.max(6, 7 * (this.px || 1)).toFixed(1));
      this.layers.overlay.appendChild(m);
    }
    m.setAttribute('cx', x.toFixed(1)); m.setAttribute('cy', y.toFixed(1));
  }

  /** Rings the given spaces (e.g. the nearest free ones). */
  highlight(ids) {
    const g = this.layers.overlay;
    for (const r of g.querySelectorAll('.ring')) r.remove();
    for (const id of ids) {
      const s = this.spaces.get(id);
      if (!s) continue;
      const c = document.createElementNS(SVGNS, 'circle');
      c.setAttribute('class', 'ring');
      c.setAttribute('cx', s.x.toFixed(1)); c.setAttribute('cy', s.y.toFixed(1)); c.setAttribute('r', Math.max(7, 5 * (this.px || 1)).toFixed(1));
      g.appendChild(c);
    }
  }

  wire() {
    const svg = this.svg;
    let drag = null;
    let dragged = false; // the click that ends a drag (or a double tap) is not a tap
    let lastTap = null; // {t, x, y} of a touch tap, for the double tap
    const pointers = new Map();
    svg.addEventListener('pointerdown', (e) => {
      pointers.set(e.pointerId, [e.clientX, e.clientY]);
      if (pointers.size === 1) { drag = { x: e.clientX, y: e.clientY, moved: false, dist: null, mid: null }; dragged = false; }
      if (pointers.size === 2 && drag) this.pinch(drag, [...pointers.values()]); // the spread the pinch starts from
    });
    svg.addEventListener('pointermove', (e) => {
      if (!drag || !pointers.has(e.pointerId)) return;
      const prev = pointers.get(e.pointerId);
      pointers.set(e.pointerId, [e.clientX, e.clientY]);
      if (pointers.size === 2) { this.pinch(drag, [...pointers.values()]); return; }
      if (!drag.moved && Math.abs(e.clientX - drag.x) + Math.abs(e.clientY - drag.y) > 6) {
        drag.moved = true;
        // Captured only once it is a drag, so that a plain click keeps its
        // target (the space under the pointer).
        try { svg.setPointerCapture(e.pointerId); } catch { /* pointer gone */ }
      }
      if (!drag.moved) return;
      const r = svg.getBoundingClientRect();
      this.pan(-(e.clientX - prev[0]) / r.width * this.view.w, -(e.clientY - prev[1]) / r.height * this.view.h);
    });
    const end = (e) => {
      pointers.delete(e.pointerId);
      if (pointers.size > 0) { if (drag) drag.dist = null; return; } // one finger of a pinch left: no jump
      if (drag && drag.moved) dragged = true;
      else if (e.type === 'pointerup' && e.pointerType === 'touch') {
        // A second tap within 300 ms and 30 px of the first zooms in there
        // (timed by the touches themselves, not by a busy page's handling).
        const now = e.timeStamp;
        if (lastTap && now - lastTap.t < 300 && Math.hypot(e.clientX - lastTap.x, e.clientY - lastTap.y) < 30) {
          this.zoom(0.5, ...this.toMap(e.clientX, e.clientY));
          dragged = true; lastTap = null; this.touchZoomAt = now;
        } else lastTap = { t: now, x: e.clientX, y: e.clientY };
      }
      drag = null;
    };
    svg.addEventListener('pointerup', end);
    svg.addEventListener('pointercancel', end);
    svg.addEventListener('click', (e) => {
      if (dragged) { dragged = false; return; }
      this.tap(e);
    });
    svg.addEventListener('dblclick', (e) => { // a mouse's double click; a touch's was handled above
      e.preventDefault();
      if (e.timeStamp - (this.touchZoomAt || -1e9) > 600) this.zoom(0.5, ...this.toMap(e.clientX, e.clientY));
    });
    svg.addEventListener('wheel', (e) => {
      e.preventDefault();
      const [cx, cy] = this.toMap(e.clientX, e.clientY);
      this.zoom(e.deltaY > 0 ? 1.25 : 0.8, cx, cy);
    }, { passive: false });
    svg.addEventListener('keydown', (e) => this.key(e));
    window.addEventListener('resize', () => { if (this.view) this.setView(this.view); });
  }

  /** Two fingers: zoom by their spread around their middle, and pan as
   * the middle moves. */
  pinch(drag, [a, b]) {
    const d = Math.hypot(a[0] - b[0], a[1] - b[1]);
    const mid = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
    if (drag.dist) {
      const r = this.svg.getBoundingClientRect();
      this.pan(-(mid[0] - drag.mid[0]) / r.width * this.view.w, -(mid[1] - drag.mid[1]) / r.height * this.view.h);
      this.zoom(drag.dist / d, ...this.toMap(mid[0], mid[1]));
    }
    drag.dist = d; drag.mid = mid; drag.moved = true;
  }

  tap(e) {
    if (this.onSpace && (!this.spaceTapZoomed || this.px < 1.2)) {
      // Spaces are a few pixels wide at the town's scale: a click within
      // 12 px of one picks the nearest (a click made without a pointer, on
      // the space itself).
      const target = e.target.closest ? e.target.closest('.space') : null;
      const id = e.detail === 0 && target ? target.dataset.id : this.spaceNear(e.clientX, e.clientY, 12);
      if (id) { this.onSpace(id); return; }
    }
    if (this.onPoint) {
      // A click not made by a pointer (detail 0) means its space, or the view's centre.
      const v = this.view, target = e.target.closest ? e.target.closest('.space') : null;
      let [x, y] = this.toMap(e.clientX, e.clientY);
      if (e.detail === 0) {
        const s = target && this.spaces.get(target.dataset.id);
        [x, y] = s ? [s.x, s.y] : [v.x + v.w / 2, v.y + v.h / 2];
      }
      this.onPoint(...this.unproject(x, y));
    }
  }

  /** The id of the space nearest a client point within maxPx pixels, or "". */
  spaceNear(clientX, clientY, maxPx) {
    const [x, y] = this.toMap(clientX, clientY);
    let best = '', bestD = (maxPx * (this.px || 1)) ** 2;
    for (const s of this.spaces.values()) {
      const d = (s.x - x) ** 2 + (s.y - y) ** 2;
      if (d < bestD) { bestD = d; best = s.id; }
    }
    return best;
  }

  key(e) {
    const el = document.activeElement;
    const onSpace = el && el.classList && el.classList.contains('space');
    if (onSpace && (e.key === 'Enter' || e.key === ' ')) {
      e.preventDefault();
      if (this.onSpace) this.onSpace(el.dataset.id);
      return;
    }
    if (onSpace && ['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Home', 'End'].includes(e.key)) {
      e.preventDefault();
      this.moveFocus(el, e.key);
      return;
    }
    if (!onSpace && e.key === 'Enter' && this.onPoint) { // keyboard "tap": the view's centre
      e.preventDefault();
      const v = this.view;
      this.onPoint(...this.unproject(v.x + v.w / 2, v.y + v.h / 2));
      return;
    }
    const step = this.view.w / 8;
    const acts = {
      ArrowLeft: () => this.pan(-step, 0), ArrowRight: () => this.pan(step, 0),
      ArrowUp: () => this.pan(0, -step), ArrowDown: () => this.pan(0, step),
      '+': () => this.zoom(0.8), '=': () => this.zoom(0.8), '-': () => this.zoom(1.25), 0: () => this.reset(),
    };
    if (acts[e.key]) { e.preventDefault(); acts[e.key](); }
  }

  /** Roving focus over the spaces: left/right the previous/next space,
   * up/down ten away, Home/End the first/last. */
  moveFocus(el, key) {
    const all = this.layers.spaces.children;
    let i = Array.prototype.indexOf.call(all, el);
    const d = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -10, ArrowDown: 10 }[key];
    if (key === 'Home') i = 0; else if (key === 'End') i = all.length - 1; else i = Math.max(0, Math.min(all.length - 1, i + d));
    el.setAttribute('tabindex', '-1');
    const next = all[i];
    next.setAttribute('tabindex', '0');
    const s = this.spaces.get(next.dataset.id);
    next.setAttribute('aria-label', `${s.id} ${t('status.' + s.status)} ${t('kind.' + s.kind)}`);
    next.focus();
    const v = this.view;
    if (s.x < v.x || s.x > v.x + v.w || s.y < v.y || s.y > v.y + v.h) this.showSpace(s.id);
  }
}

/** Fills a legend element with the four statuses. */
export function drawLegend(el, extra = []) {
  el.replaceChildren();
  const item = (cls, status, text) => {
    const li = document.createElement('li');
    const sw = document.createElement('span');
    sw.className = cls;
    if (status) sw.dataset.status = status;
    sw.setAttribute('aria-hidden', 'true');
    li.append(sw, document.createTextNode(text));
    el.appendChild(li);
  };
  for (const st of ['free', 'occupied', 'unknown', 'closed']) item('swatch', st, t('status.' + st));
  for (const [cls, key] of extra) item(cls, '', t(key));
}

/** Wires the map's zoom buttons (data-map="in|out|reset") under root. */
export function wireZoomButtons(root, map) {
  for (const b of root.querySelectorAll('[data-map]')) {
    b.addEventListener('click', () => ({ in: () => map.zoom(0.7), out: () => map.zoom(1.4), reset: () => map.reset() })[b.dataset.map]());
  }
}

// ---------------------------------------------------------------- live feed

/** Opens /api/v1/events and calls onEvent(type, event) for each event,
 * onLive(bool) when the stream opens or breaks, and onReset() when the
 * server says the page's view may lack changes (a `reset` event: it
 * resumed from too far back) and must be read again. Without a token it
 * is an EventSource; with one, a fetch() stream with the Authorization
 * header (EventSource cannot send headers). Both resume after a break with
 * the last event id. A stream the server refuses (429, 503: parkd at its
 * streams' limit, or Redis down) is tried again after its Retry-After,
 * 30 s at least for an EventSource, which gives up on any refusal. Returns
 * {close(), opened}: opened is a promise of the first opening ("open"),
 * of a refused token ("unauthorized"), or of "timeout" after waitMs. The
 * server fixes the stream's start when it opens it, so a snapshot read
 * after opened misses no event. */
export function openFeed({ token = '', onEvent, onLive, onAuthError, onReset = () => {}, waitMs = 2000 }) {
  const url = '/api/v1/events';
  let settle;
  const opened = new Promise((resolve) => { settle = resolve; });
  setTimeout(() => settle('timeout'), waitMs);
  const live = (on) => { if (on) settle('open'); onLive(on); };
  const authError = () => { settle('unauthorized'); if (onAuthError) onAuthError(); };
  if (!token) return { ...sourceFeed(url, onEvent, live, onReset), opened };
  return { ...fetchFeed(url, token, onEvent, live, authError, onReset), opened };
}

/** The live feed as an EventSource. It reconnects by itself after a
 * break, but not after a refusal (any status but 200): then a new one is
 * opened after 30–45 s, resuming after the last id seen. */
function sourceFeed(url, onEvent, onLive, onReset) {
  let es = null, lastID = '', closed = false, timer = 0;
  const open = () => {
    es = new EventSource(lastID ? url + '?last_event_id=' + encodeURIComponent(lastID) : url);
    es.onopen = () => onLive(true);
    es.onerror = () => {
      onLive(false);
      if (es.readyState !== EventSource.CLOSED || closed) return; // CONNECTING: it retries by itself
      timer = setTimeout(open, 30000 + Math.random() * 15000);
    };
    for (const type of ['space', 'zone', 'incident']) {
      es.addEventListener(type, (m) => {
        if (m.lastEventId) lastID = m.lastEventId;
        try { onEvent(type, JSON.parse(m.data)); } catch { /* skip a bad line */ }
      });
    }
    es.addEventListener('reset', (m) => { if (m.lastEventId) lastID = m.lastEventId; onReset(); });
  };
  open();
  return { close: () => { closed = true; clearTimeout(timer); es.close(); } };
}

function fetchFeed(url, token, onEvent, onLive, onAuthError, onReset) {
  let lastID = '', closed = false, ctrl = null, retry = 1000;
  async function run() {
    while (!closed) {
      ctrl = new AbortController();
      let wait = retry;
      try {
        const headers = { Authorization: 'Bearer ' + token, Accept: 'text/event-stream' };
        if (lastID) headers['Last-Event-ID'] = lastID;
        const res = await fetch(url, { headers, signal: ctrl.signal, cache: 'no-store' });
        if (res.status === 401) { onLive(false); onAuthError(); return; }
        if (res.status === 429 || res.status === 503) wait = 1000 * Math.max(1, +res.headers.get('Retry-After') || 30);
        if (!res.ok || !res.body) throw new Error('events: ' + res.status);
        onLive(true);
        await readSSE(res.body, (m) => {
          if (m.id) lastID = m.id;
          if (m.retry) retry = m.retry;
          if (m.event === 'reset') { onReset(); return; }
          if (m.event && m.data) { try { onEvent(m.event, JSON.parse(m.data)); } catch { /* skip */ } }
        });
      } catch {
        if (closed) return;
      }
      onLive(false);
      if (!closed) await new Promise((r) => setTimeout(r, wait));
    }
  }
  run();
  return { close: () => { closed = true; if (ctrl) ctrl.abort(); } };
}

/** Parses a text/event-stream body, calling onMessage({id, event, data, retry}). */
async function readSSE(body, onMessage) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '', msg = { data: '' };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).replace(/\r$/, '');
      buf = buf.slice(nl + 1);
      if (line === '') {
        if (msg.data || msg.id) onMessage({ ...msg, data: msg.data.replace(/\n$/, '') });
        msg = { data: '' };
        continue;
      }
      if (line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      const val = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
      if (field === 'data') msg.data += val + '\n';
      else if (field === 'id') msg.id = val;
      else if (field === 'event') msg.event = val;
      else if (field === 'retry' && /^\d+$/.test(val)) msg.retry = +val;
    }
  }
}

/** Returns an onLive handler that shows the state and calls onReopen when
 * the feed opens again after a break, once the page is ready (the page then
 * re-reads its snapshot: a long break may outlast the feed's memory). */
export function liveHandler(indicator, onReopen) {
  let broken = false;
  return (on) => {
    setLive(on, indicator);
    if (!on && document.body.dataset.ready === '1') broken = true;
    if (on && broken) { broken = false; onReopen(); }
  };
}

/** Shows live state on body[data-live] and an indicator element. */
export function setLive(on, indicator) {
  if (on) document.body.dataset.live = '1'; else delete document.body.dataset.live;
  if (indicator) { indicator.dataset.i18n = on ? 'live.on' : 'live.off'; indicator.textContent = t(indicator.dataset.i18n); indicator.classList.toggle('on', on); }
}

/** Says msg to screen readers through the page's #announce live region. */
export function announce(msg) {
  const el = document.getElementById('announce');
  if (el) el.textContent = msg;
}
