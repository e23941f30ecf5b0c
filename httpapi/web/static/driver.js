// The driver page: the town map, the nearest free spaces to a point (the
// browser's location, a tapped point or the town centre) and the zones.
import {
  addStrings, initLang, onLang, lang, t, distance, fmtDistance, TownMap, drawLegend,
  wireZoomButtons, openFeed, liveHandler, announce, safeGet, safeSet, setLive,
} from './common.js?v=__V__';
import { SpaceCard } from './nav.js?v=__V__';
import { registerWorker, loadMap, keepFeedAlive } from './pwa.js?v=__V__';

addStrings({
  zh: {
    'd.title': '邱隘停车 · 找空位', 'd.h1': '邱隘停车', 'd.skip': '跳到最近的空位',
    'd.nearest': '最近的空位', 'd.kind': '车位类型', 'd.locate': '用我的位置', 'd.centre': '镇中心',
    'd.zones': '片区', 'd.hint': '点击地图选择位置（键盘：回车选地图中心）；方向键移动，+/- 缩放',
    'd.from.centre': '从镇中心算起', 'd.from.tap': '从地图上选的点算起', 'd.from.geo': '从你的位置算起',
    'd.none': '没有这种类型的空位', 'd.outside': '你不在邱隘附近，改从镇中心算起', 'd.geo.fail': '无法获取你的位置',
    'd.show': '在地图上显示', 'd.legend.here': '起点', 'd.legend.ring': '最近的空位', 'd.announce': '最近的空位：{id}，{d}',
  },
  en: {
    'd.title': 'Qiuai parking · find a space', 'd.h1': 'Qiuai parking', 'd.skip': 'Skip to the nearest free spaces',
    'd.nearest': 'Nearest free spaces', 'd.kind': 'Kind of space', 'd.locate': 'Use my location', 'd.centre': 'Town centre',
    'd.zones': 'Zones', 'd.hint': 'Tap the map to choose a point (keyboard: Enter picks the centre); arrow keys move, +/- zoom',
    'd.from.centre': 'From the town centre', 'd.from.tap': 'From the point you chose on the map', 'd.from.geo': 'From your location',
    'd.none': 'No free space of this kind', 'd.outside': 'You are not near Qiuai: counting from the town centre', 'd.geo.fail': 'Could not get your location',
    'd.show': 'Show on the map', 'd.legend.here': 'Your point', 'd.legend.ring': 'Nearest free', 'd.announce': 'Nearest free space: {id}, {d}',
  },
});

const NEAREST = 5; // spaces listed
const LEGEND = [['swatch-here', 'd.legend.here'], ['swatch-ring', 'd.legend.ring']];
const FAR = 20000; // metres: a location farther from the town is ignored

const $ = (id) => document.getElementById(id);
const state = { point: null, from: 'centre', note: '', zones: new Map(), listKey: '', shared: false };
let map, card;
// held keeps the feed's events while the map is being read (the first time,
// and again after a break or a reset), to apply after it: none is lost.
let held = [];

async function main() {
  initLang();
  drawLegend($('legend'), LEGEND);
  map = new TownMap($('map'), { onPoint: (lat, lon) => setPoint(lat, lon, 'tap'), onSpace: openCard, spaceTapZoomed: true });
  card = new SpaceCard($('space-card'));
  wireZoomButtons(document, map);

  // The map is read once the feed is open: the events from then on arrive
  // meanwhile, are kept, and applied after it, so no change is lost.
  const handlers = {
    onLive: liveHandler($('live'), refresh),
    onReset: () => { if (document.body.dataset.ready === '1') refresh(); },
    onEvent: (type, e) => (held ? held.push([type, e]) : apply(type, e)),
  };
  const feed = openFeed(handlers);
  let data;
  try {
    await feed.opened;
    data = await loadMap();
  } catch (e) {
    showError(t('error.load', { msg: e.message }));
    return;
  }
  performance.mark('parkd-map-read');
  map.load(data);
  performance.mark('parkd-map-drawn');
  for (const z of data.zones) state.zones.set(z.id, z);
  for (const [type, e] of held) apply(type, e);
  held = null;

  const saved = safeGet(sessionStorage, 'parkd.point');
  const [lat, lon] = saved ? JSON.parse(saved) : map.centre();
  setPoint(lat, lon, saved ? 'tap' : 'centre', true);
  if ($('map').clientWidth < 600) map.showAround(lat, lon, 900); // a phone: the neighbourhood, not the town
  showShared();
  renderZones();
  wire();
  onLang(() => { drawLegend($('legend'), LEGEND); renderZones(); renderNearest(); });
  document.body.dataset.ready = '1';
  performance.mark('parkd-ready');
  useGeoIfGranted();
  let live = feed;
  keepFeedAlive({
    reopen: () => {
      live.close();
      setLive(false, $('live'));
      live = openFeed(handlers);
      refresh();
    },
    close: () => live.close(),
    refresh,
  });
  registerWorker();
}

/** A shared link (/?space=ID[&z=ZOOM]) opens the map centred on its space,
 * at tile zoom ZOOM (default 18), with its card. */
function showShared() {
  const q = new URLSearchParams(location.search);
  const s = map.spaces.get(q.get('space') || '');
  if (!s) return;
  const z = Number(q.get('z'));
  map.showAt(s.lat, s.lon, z >= 1 && z <= 22 ? z : 18);
  state.shared = true;
  map.highlight([s.id]);
  openCard(s.id);
}

/** Opens the card of a space: where it is, navigate, share. */
function openCard(id) {
  const s = map.spaces.get(id);
  if (!s) return;
  const z = state.zones.get(s.zone);
  card.open(s, z ? z.name : s.zone, map.els.get(id));
}

function wire() {
  $('kind').addEventListener('change', () => renderNearest(true));
  $('centre').addEventListener('click', () => { safeSet(sessionStorage, 'parkd.point', null); setPoint(...map.centre(), 'centre'); });
  $('locate').addEventListener('click', locate);
}

function apply(type, e) {
  if (type === 'space') {
    if (map.setStatus(e.space_id, e.status)) scheduleNearest();
  } else if (type === 'zone') {
    const z = state.zones.get(e.zone_id);
    if (!z || !e.data) return;
    Object.assign(z, e.data);
    if (!e.data.level) z.level = z.level || 'unknown';
    updateZone(z);
  }
}

/** Re-reads every space's status and the zones after the feed reopened or
 * said to (reset); the events that arrive meanwhile are applied after. */
async function refresh() {
  if (held) return; // a read of the map is on its way
  held = [];
  try {
    const data = await loadMap();
    for (const [id, , , , , status] of data.spaces) map.setStatus(id, status);
    for (const z of data.zones) { state.zones.set(z.id, z); updateZone(z); }
  } catch { /* the next reopening tries again */ }
  for (const [type, e] of held) apply(type, e);
  held = null;
  renderNearest();
}

let nearestTimer = 0;
function scheduleNearest() {
  if (nearestTimer) return;
  nearestTimer = setTimeout(() => { nearestTimer = 0; renderNearest(); }, 250);
}

function setPoint(lat, lon, from, quiet) {
  state.point = [lat, lon];
  state.from = from;
  state.note = '';
  if (from === 'tap') safeSet(sessionStorage, 'parkd.point', JSON.stringify([lat, lon]));
  map.marker(lat, lon);
  renderNearest(!quiet);
  if (!quiet && from !== 'tap' && !state.shared) map.showSpace(nearestIDs()[0]);
  state.shared = false; // a shared link's view stays until the driver's next choice
}

function nearestIDs() {
  return [...$('nearest').querySelectorAll('li[data-id]')].map((li) => li.dataset.id);
}

/** The free spaces of the chosen kind nearest the point, computed from the
 * live map (every space's status is on the page already). */
function nearest() {
  const kind = $('kind').value === 'any' ? '' : $('kind').value;
  const [lat, lon] = state.point;
  const out = [];
  for (const s of map.spaces.values()) {
    if (s.status !== 'free' || (kind && s.kind !== kind)) continue;
    out.push({ s, d: distance(lat, lon, s.lat, s.lon) });
  }
  out.sort((a, b) => a.d - b.d);
  return out.slice(0, NEAREST);
}

/** Renders the nearest list; say tells screen readers the new nearest
 * space (on the user's own changes, not on every live update). */
function renderNearest(say = false) {
  if (!state.point) return;
  $('from').textContent = state.note || t('d.from.' + state.from);
  const list = nearest();
  const ol = $('nearest');
  const key = lang() + list.map(({ s, d }) => s.id + ':' + Math.round(d)).join(',');
  if (key === state.listKey) return; // unchanged: keep the DOM (and the focus)
  state.listKey = key;
  const focused = ol.contains(document.activeElement) ? document.activeElement.closest('li').dataset.id : '';
  const items = list.map(({ s, d }) => {
    const li = document.createElement('li');
    li.dataset.id = s.id;
    li.dataset.kind = s.kind;
    const z = state.zones.get(s.zone);
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'near';
    b.setAttribute('aria-label', `${t('d.show')}: ${s.id}, ${fmtDistance(d)}, ${t('kind.' + s.kind)}, ${z ? z.name : s.zone}`);
    const dist = document.createElement('span'); dist.className = 'dist'; dist.textContent = fmtDistance(d);
    const kind = document.createElement('span'); kind.className = 'kind kind-' + s.kind; kind.textContent = t('kind.' + s.kind);
    const where = document.createElement('span'); where.className = 'where'; where.textContent = `${z ? z.name : s.zone} · ${s.id}`;
    b.append(dist, kind, where);
    b.addEventListener('click', () => { map.showSpace(s.id); revealMap(); });
    const nav = document.createElement('button');
    nav.type = 'button';
    nav.className = 'go';
    nav.dataset.navOpen = s.id;
    nav.textContent = t('nav.go');
    nav.setAttribute('aria-label', `${t('nav.go')}: ${s.id}`);
    nav.addEventListener('click', () => openCard(s.id));
    li.append(b, nav);
    return li;
  });
  if (!items.length) {
    const li = document.createElement('li');
    li.className = 'empty';
    li.textContent = t('d.none');
    items.push(li);
  }
  ol.replaceChildren(...items);
  if (focused) {
    const again = ol.querySelector(`li[data-id="${CSS.escape(focused)}"] button`) || ol.querySelector('button');
    if (again) again.focus();
  }
  map.highlight(list.map(({ s }) => s.id));
  if (say && list[0]) announce(t('d.announce', { id: list[0].s.id, d: fmtDistance(list[0].d) }));
}

function renderZones() {
  const ul = $('zones');
  ul.replaceChildren(...[...state.zones.values()].map(zoneItem));
}

function zoneItem(z) {
  const li = document.createElement('li');
  li.dataset.zone = z.id;
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'zone';
  b.addEventListener('click', () => { map.showZone(z.id); revealMap(); });
  li.appendChild(b);
  fillZone(li, z);
  return li;
}

function fillZone(li, z) {
  li.dataset.level = z.level || 'unknown';
  const b = li.firstChild;
  const name = document.createElement('span'); name.className = 'name'; name.textContent = z.name;
  const type = document.createElement('span'); type.className = 'type'; type.textContent = t('zone.' + z.type);
  const free = document.createElement('span'); free.className = 'free'; free.textContent = t('free.of', { free: z.free, total: z.total });
  const level = document.createElement('span'); level.className = 'level'; level.dataset.level = li.dataset.level; level.textContent = t('level.' + li.dataset.level);
  b.replaceChildren(name, type, free, level);
}

function updateZone(z) {
  const li = document.querySelector(`#zones li[data-zone="${CSS.escape(z.id)}"]`);
  if (li) fillZone(li, z);
}

function useGeo(pos) {
  const { latitude: lat, longitude: lon } = pos.coords;
  const [clat, clon] = map.centre();
  if (distance(lat, lon, clat, clon) > FAR) {
    setPoint(clat, clon, 'centre');
    state.note = t('d.outside');
    $('from').textContent = state.note;
    return;
  }
  setPoint(lat, lon, 'geo');
}

function locate() {
  if (!navigator.geolocation) { $('from').textContent = t('d.geo.fail'); return; }
  navigator.geolocation.getCurrentPosition(useGeo, () => { $('from').textContent = t('d.geo.fail'); }, { timeout: 8000, maximumAge: 60000 });
}

/** Uses the browser's location at once when the user has already allowed it. */
async function useGeoIfGranted() {
  try {
    if (!navigator.permissions || !navigator.geolocation) return;
    const p = await navigator.permissions.query({ name: 'geolocation' });
    if (p.state === 'granted') navigator.geolocation.getCurrentPosition(useGeo, () => {}, { timeout: 8000, maximumAge: 60000 });
  } catch { /* no permissions API */ }
}

/** On a phone the map may be scrolled away: bring it back into view. */
function revealMap() {
  const r = $('map').getBoundingClientRect();
  if (r.bottom < 0 || r.top > innerHeight) $('map').scrollIntoView({ block: 'start', behavior: 'smooth' });
}

function showError(msg) {
  const el = $('error');
  el.textContent = msg;
  el.hidden = false;
}

main();
