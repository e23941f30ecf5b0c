// The staff dashboard: the map coloured by status, per-zone occupancy bars,
// the incident queue, sensor health, a 24-hour chart with the forecast, and
// closing/opening a space. Every API call carries the staff token, which is
// kept in sessionStorage only.
import {
  addStrings, initLang, onLang, t, api, APIError, fmtTime, TownMap, drawLegend, wireZoomButtons,
  openFeed, setLive, liveHandler, announce, safeGet, safeSet, translate,
} from './common.js?v=__V__';

addStrings({
  zh: {
    's.title': '邱隘停车 · 管理', 's.h1': '邱隘停车 · 管理', 's.skip': '跳到事件', 's.logout': '退出',
    's.login': '工作人员登录', 's.token': '访问令牌', 's.signin': '登录',
    's.bad': '令牌无效，请重新输入', 's.expired': '登录已失效，请重新输入令牌',
    's.hint': '点击车位查看详情和关闭/开放；方向键移动，+/- 缩放；Tab 进入车位后方向键切换，回车打开',
    's.zones': '各片区占用', 's.incidents': '事件', 's.show': '显示', 's.active': '未解决', 's.all': '全部',
    's.col.type': '类型', 's.col.space': '车位', 's.col.detail': '详情', 's.col.opened': '开始', 's.col.status': '状态',
    's.col.actions': '操作', 's.col.sensor': '传感器', 's.col.problems': '问题', 's.col.battery': '电量', 's.col.seen': '最后收到',
    's.ack': '确认', 's.resolve': '解决', 's.sensors': '传感器状况', 's.problems': '有问题的',
    's.chart': '24 小时占用率与预测', 's.zone': '片区', 's.chart.hist': '过去 24 小时', 's.chart.fc': '预测（虚线）',
    's.chart.desc': '{zone}：现在占用 {now}%，6 小时后预测 {fc}%', 's.chart.y': '纵轴：非空闲车位的比例',
    's.panel.close': '关闭面板', 's.reason': '关闭原因', 's.close': '关闭车位', 's.open': '开放车位',
    's.f.status': '状态', 's.f.zone': '片区', 's.f.kind': '类型', 's.f.since': '状态开始', 's.f.seen': '最后收到',
    's.f.sensor': '传感器', 's.f.battery': '电量', 's.f.maxstay': '限时',
    's.forbidden': '你的角色不能执行此操作', 's.done': '已完成', 's.new.incident': '新事件：{type} {space}',
    's.none': '没有', 's.incidents.table': '事件列表', 's.sensors.table': '传感器列表', 's.reason.default': '工作人员关闭',
    'incident.overstay': '超时停车', 'incident.offline': '离线', 'incident.low_battery': '电量低', 'incident.flapping': '频繁跳变', 'incident.clock_skew': '时钟错误',
    'istatus.open': '待处理', 'istatus.acknowledged': '已确认', 'istatus.resolved': '已解决',
    'detail.overstay': '自 {since} 起占用，限时 {min} 分钟', 'detail.offline': '自 {since} 起无信号', 'detail.battery': '电池 {v} V', 'detail.flapping': '过去一小时变化 {n} 次',
    'problem.offline': '离线', 'problem.low_battery': '电量低', 'problem.flapping': '频繁跳变', 'problem.clock_skew': '时钟错误', 'min': '{n} 分钟', 'nolimit': '不限',
  },
  en: {
    's.title': 'Qiuai parking · staff', 's.h1': 'Qiuai parking · staff', 's.skip': 'Skip to incidents', 's.logout': 'Sign out',
    's.login': 'Staff sign-in', 's.token': 'Access token', 's.signin': 'Sign in',
    's.bad': 'That token is not valid; enter it again', 's.expired': 'Your session is no longer valid; enter the token again',
    's.hint': 'Click a space for details and to close/open it; arrow keys move, +/- zoom; Tab into the spaces, arrows to move, Enter to open',
    's.zones': 'Occupancy by zone', 's.incidents': 'Incidents', 's.show': 'Show', 's.active': 'Unresolved', 's.all': 'All',
    's.col.type': 'Type', 's.col.space': 'Space', 's.col.detail': 'Detail', 's.col.opened': 'Since', 's.col.status': 'Status',
    's.col.actions': 'Actions', 's.col.sensor': 'Sensor', 's.col.problems': 'Problems', 's.col.battery': 'Battery', 's.col.seen': 'Last heard',
    's.ack': 'Acknowledge', 's.resolve': 'Resolve', 's.sensors': 'Sensor health', 's.problems': 'With a problem',
    's.chart': 'Occupancy, 24 hours, and forecast', 's.zone': 'Zone', 's.chart.hist': 'Last 24 hours', 's.chart.fc': 'Forecast (dashed)',
    's.chart.desc': '{zone}: {now}% occupied now, {fc}% forecast in 6 hours', 's.chart.y': 'Axis: share of spaces not free',
    's.panel.close': 'Close the panel', 's.reason': 'Reason for closing', 's.close': 'Close space', 's.open': 'Open space',
    's.f.status': 'Status', 's.f.zone': 'Zone', 's.f.kind': 'Kind', 's.f.since': 'Since', 's.f.seen': 'Last heard',
    's.f.sensor': 'Sensor', 's.f.battery': 'Battery', 's.f.maxstay': 'Time limit',
    's.forbidden': 'Your role may not do this', 's.done': 'Done', 's.new.incident': 'New incident: {type} {space}',
    's.none': 'None', 's.incidents.table': 'Incident list', 's.sensors.table': 'Sensor list', 's.reason.default': 'closed by staff',
    'incident.overstay': 'Overstay', 'incident.offline': 'Offline', 'incident.low_battery': 'Low battery', 'incident.flapping': 'Flapping', 'incident.clock_skew': 'Clock skew',
    'istatus.open': 'Open', 'istatus.acknowledged': 'Acknowledged', 'istatus.resolved': 'Resolved',
    'detail.overstay': 'occupied since {since}, limit {min} min', 'detail.offline': 'silent since {since}', 'detail.battery': 'battery {v} V', 'detail.flapping': '{n} changes in the last hour',
    'problem.offline': 'Offline', 'problem.low_battery': 'Low battery', 'problem.flapping': 'Flapping', 'problem.clock_skew': 'Clock skew', 'min': '{n} min', 'nolimit': 'none',
  },
});

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = 'parkd.token';
const S = { token: '', zones: new Map(), incidents: new Map(), sensors: [], feed: null, panel: '', chartTimer: 0, held: null };
let map;

function main() {
  initLang();
  $('login').addEventListener('submit', login);
  $('logout').addEventListener('click', () => logout(''));
  onLang(() => { drawLegend($('legend')); renderAll(); });
  const tok = safeGet(sessionStorage, TOKEN_KEY);
  if (tok) start(tok); else showLogin('');
}

function showLogin(msg) {
  $('dash').hidden = true;
  $('logout').hidden = true;
  $('live').hidden = true;
  $('space-panel').hidden = true;
  $('login-view').hidden = false;
  $('login-msg').textContent = msg;
  delete document.body.dataset.ready;
  $('token').focus();
}

async function login(e) {
  e.preventDefault();
  const tok = $('token').value.trim();
  if (!tok) return;
  $('login-msg').textContent = '';
  start(tok);
}

function logout(msg) {
  safeSet(sessionStorage, TOKEN_KEY, null);
  S.token = '';
  clearInterval(S.chartTimer);
  if (S.feed) { S.feed.close(); S.feed = null; }
  setLive(false, $('live'));
  showLogin(msg);
}

/** Opens the live feed with the token (its answer tells whether the token
 * is good), then reads the map, incidents and sensors: read after the feed
 * opened, they miss no event, and the events that arrive meanwhile are
 * applied after them. */
async function start(tok) {
  let pending = [];
  let authed = false;
  const feed = openFeed({
    token: tok,
    onLive: liveHandler($('live'), refresh),
    onReset: () => { if (document.body.dataset.ready === '1') refresh(); },
    onAuthError: () => { if (authed) logout(t('s.expired')); },
    onEvent: (type, ev) => (pending ? pending.push([type, ev]) : S.held ? S.held.push([type, ev]) : apply(type, ev)),
  });
  if (await feed.opened === 'unauthorized') { feed.close(); logout(t('s.bad')); return; }
  S.token = tok;
  // Settled at once so that a failure is not an unhandled rejection while
  // another answer is awaited; unwrap() rethrows it where it is used.
  const settle = (p) => p.then((v) => ({ v }), (e) => ({ e }));
  const unwrap = (r) => { if (r.e) throw r.e; return r.v; };
  const mapP = settle(api('/api/v1/map'));
  const incP = loadIncidents();
  const senP = settle(loadSensors());
  try {
    await incP; // also the token check when the feed did not answer in time
  } catch (err) {
    feed.close();
    S.token = '';
    await senP; // the form comes back once no request with this token is on its way
    if (err instanceof APIError && err.status === 401) logout(t('s.bad')); else showLogin(t('error.load', { msg: err.message }));
    return;
  }
  authed = true;
  S.feed = feed;
  safeSet(sessionStorage, TOKEN_KEY, tok);
  showDash();
  try {
    const data = unwrap(await mapP);
    performance.mark('parkd-map-read');
    map.load(data);
    performance.mark('parkd-map-drawn');
    S.zones = new Map(data.zones.map((z) => [z.id, z]));
    for (const [type, ev] of pending) apply(type, ev);
    pending = null;
    fillChartZones();
    renderAll();
    unwrap(await senP);
    renderSensors();
  } catch (err) {
    if (authFail(err)) return;
    showError(t('error.load', { msg: err.message }));
    return;
  }
  document.body.dataset.ready = '1';
  performance.mark('parkd-ready');
  loadChart();
  clearInterval(S.chartTimer);
  S.chartTimer = setInterval(() => { loadChart(); reloadSensors(); }, 60 * 1000); // neither is on the feed
}

/** Re-reads the map and the incidents after the feed reopened or said to
 * (reset); the events that arrive meanwhile are applied after. */
async function refresh() {
  if (S.held) return; // a read is on its way
  S.held = [];
  try {
    const data = await api('/api/v1/map');
    for (const [id, , , , , status] of data.spaces) map.setStatus(id, status);
    for (const z of data.zones) S.zones.set(z.id, z);
    await loadIncidents();
  } catch (err) { authFail(err); }
  const held = S.held;
  S.held = null;
  for (const [type, ev] of held) apply(type, ev);
  renderBars();
  renderIncidents();
}

function showDash() {
  $('token').value = '';
  $('login-view').hidden = true;
  $('dash').hidden = false;
  $('logout').hidden = false;
  $('live').hidden = false;
  if (!map) {
    map = new TownMap($('map'), { focusable: true, onSpace: openPanel });
    wireZoomButtons(document, map);
    wireDash();
  }
  drawLegend($('legend'));
}

function wireDash() {
  $('incident-filter').addEventListener('change', renderIncidents);
  $('sensor-health').addEventListener('change', reloadSensors);
  $('chart-zone').addEventListener('change', loadChart);
  $('incidents').addEventListener('click', incidentAction);
  $('panel-close').addEventListener('click', closePanel);
  $('space-panel').addEventListener('keydown', (e) => { if (e.key === 'Escape') closePanel(); });
  for (const b of $('space-panel').querySelectorAll('button[data-action]')) b.addEventListener('click', () => spaceAction(b.dataset.action));
}

function renderAll() {
  if (!S.token || !map) return;
  renderBars();
  renderIncidents();
  renderSensors();
  fillChartZones();
  if (S.lastChart) drawChart(...S.lastChart);
  if (S.panel && !$('space-panel').hidden) openPanel(S.panel);
}

function apply(type, ev) {
  if (type === 'space') {
    map.setStatus(ev.space_id, ev.status);
    if (S.panel === ev.space_id && !$('space-panel').hidden) openPanel(ev.space_id, true);
  } else if (type === 'zone') {
    const z = S.zones.get(ev.zone_id);
    if (!z || !ev.data) return;
    Object.assign(z, ev.data);
    renderBar(z);
  } else if (type === 'incident' && ev.data) {
    const isNew = !S.incidents.has(ev.data.id);
    S.incidents.set(ev.data.id, ev.data);
    later('incidents', renderIncidents, 200);
    if (ev.data.type !== 'overstay') later('sensors', reloadSensors, 2000); // health changed
    if (isNew && ev.data.status === 'open') announce(t('s.new.incident', { type: t('incident.' + ev.data.type), space: ev.data.space_id }));
  }
}

const timers = {};
/** Runs fn once, ms after the first of a burst of calls with the same name. */
function later(name, fn, ms) {
  if (timers[name]) return;
  timers[name] = setTimeout(() => { timers[name] = 0; fn(); }, ms);
}

async function reloadSensors() {
  if (!S.token) return;
  try { await loadSensors(); renderSensors(); } catch (err) { authFail(err); }
}

function authFail(err) {
  if (err instanceof APIError && err.status === 401) { logout(t('s.expired')); return true; }
  return false;
}

/** Like Promise.all, but it settles only once every promise has: on a
 * refused token start() brings the login form back only when no request
 * with that token is still on its way. */
async function allDone(promises) {
  const got = await Promise.allSettled(promises);
  const failed = got.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return got.map((r) => r.value);
}

// ---------------------------------------------------------------- zones

function renderBars() {
  $('zones').replaceChildren(...[...S.zones.values()].map((z) => {
    const li = document.createElement('li');
    li.className = 'bar';
    li.dataset.zone = z.id;
    fillBar(li, z);
    return li;
  }));
}

function renderBar(z) {
  const li = document.querySelector(`#zones li[data-zone="${CSS.escape(z.id)}"]`);
  if (li) fillBar(li, z);
}

function fillBar(li, z) {
  li.dataset.level = z.level || 'unknown';
  const pct = (n) => (z.total ? (100 * n) / z.total : 0);
  const occ = Math.round(pct(z.total - z.free));
  const name = document.createElement('span'); name.textContent = z.name;
  const track = document.createElement('span'); track.className = 'track';
  track.setAttribute('role', 'img');
  track.setAttribute('aria-label', `${z.name}: ${occ}% ` + ['occupied', 'unknown', 'closed', 'free'].map((s) => `${t('status.' + s)} ${z[s]}`).join(', '));
  for (const s of ['occupied', 'unknown', 'closed', 'free']) {
    const seg = document.createElement('span');
    seg.className = 'seg'; seg.dataset.status = s;
    seg.style.width = pct(z[s]).toFixed(2) + '%';
    track.appendChild(seg);
  }
  const num = document.createElement('span');
  num.textContent = `${occ}% · ${t('free.of', { free: z.free, total: z.total })}`;
  li.replaceChildren(name, track, num);
}

// ---------------------------------------------------------------- incidents

async function loadIncidents() {
  const [open, ack, recent] = await allDone([
    api('/api/v1/incidents?status=open&limit=500', { token: S.token }),
    api('/api/v1/incidents?status=acknowledged&limit=500', { token: S.token }),
    api('/api/v1/incidents?limit=100', { token: S.token }),
  ]);
  S.incidents = new Map();
  for (const i of [...open.incidents, ...ack.incidents, ...recent.incidents]) S.incidents.set(i.id, i);
}

function renderIncidents() {
  const all = $('incident-filter').value === 'all';
  const rows = [...S.incidents.values()]
    .filter((i) => all || i.status !== 'resolved' || i.justChanged)
    .sort((a, b) => (a.opened_at < b.opened_at ? 1 : a.opened_at > b.opened_at ? -1 : (a.id < b.id ? -1 : 1)));
  const body = $('incidents').tBodies[0];
  const f = document.activeElement;
  const keep = body.contains(f) && f.closest('tr[data-incident]')
    ? { id: f.closest('tr').dataset.incident, action: f.dataset.action, space: f.dataset.space } : null;
  body.replaceChildren(...rows.map(incidentRow));
  if (keep) { // a live update must not take the keyboard focus away
    const tr = body.querySelector(`tr[data-incident="${CSS.escape(keep.id)}"]`);
    const again = tr && (tr.querySelector(keep.action ? `button[data-action="${keep.action}"]:not(:disabled)` : 'button[data-space]') || tr.querySelector('button:not(:disabled)'));
    if (again) again.focus();
  }
  const active = [...S.incidents.values()].filter((i) => i.status !== 'resolved').length;
  $('incident-count').textContent = String(active);
  if (!rows.length) {
    const tr = document.createElement('tr');
    const td = document.createElement('td'); td.colSpan = 6; td.textContent = t('s.none');
    tr.appendChild(td);
    body.appendChild(tr);
  }
}

function incidentRow(i) {
  const tr = document.createElement('tr');
  tr.dataset.incident = i.id;
  tr.dataset.status = i.status;
  const cell = (text) => { const td = document.createElement('td'); td.textContent = text; tr.appendChild(td); return td; };
  cell(t('incident.' + i.type));
  const sp = cell('');
  const link = document.createElement('button');
  link.type = 'button'; link.textContent = i.space_id; link.dataset.space = i.space_id;
  link.addEventListener('click', () => { map.showSpace(i.space_id); openPanel(i.space_id); });
  sp.appendChild(link);
  cell(detailText(i.detail));
  cell(fmtTime(i.start));
  const st = cell('');
  const badge = document.createElement('span'); badge.className = 'badge'; badge.dataset.status = i.status; badge.textContent = t('istatus.' + i.status);
  st.appendChild(badge);
  const acts = document.createElement('div');
  acts.className = 'acts';
  cell('').appendChild(acts);
  for (const [action, label] of [['ack', 's.ack'], ['resolve', 's.resolve']]) {
    const b = document.createElement('button');
    b.type = 'button'; b.dataset.action = action; b.textContent = t(label);
    b.setAttribute('aria-label', `${t(label)}: ${t('incident.' + i.type)} ${i.space_id}`);
    b.disabled = i.status === 'resolved' || (action === 'ack' && i.status === 'acknowledged');
    acts.appendChild(b);
  }
  return tr;
}

/** The detector's details (English, fixed forms) in the page's language,
 * with local times; anything else as it came. */
function detailText(d) {
  let m;
  if ((m = /^occupied since (\S+), limit (\d+) min$/.exec(d))) return t('detail.overstay', { since: fmtTime(m[1]), min: m[2] });
  if ((m = /^silent since (\S+)$/.exec(d))) return t('detail.offline', { since: fmtTime(m[1]) });
  if ((m = /^battery (\d+) mV$/.exec(d))) return t('detail.battery', { v: (m[1] / 1000).toFixed(2) });
  if ((m = /^(\d+) state changes in the last hour$/.exec(d))) return t('detail.flapping', { n: m[1] });
  return d;
}

async function incidentAction(e) {
  const b = e.target.closest('button[data-action]');
  if (!b) return;
  const tr = b.closest('tr[data-incident]');
  const id = tr.dataset.incident;
  b.disabled = true;
  try {
    const res = await api(`/api/v1/incidents/${encodeURIComponent(id)}/${b.dataset.action}`, { token: S.token, method: 'POST' });
    res.incident.justChanged = true;
    S.incidents.set(id, res.incident);
    renderIncidents();
    announce(`${t('istatus.' + res.incident.status)}: ${res.incident.space_id}`);
    const again = document.querySelector(`#incidents tr[data-incident="${CSS.escape(id)}"] button[data-action="resolve"]`);
    if (again && !again.disabled) again.focus();
  } catch (err) {
    if (authFail(err)) return;
    b.disabled = false;
    announce(err.status === 403 ? t('s.forbidden') : err.message);
    showError(err.status === 403 ? t('s.forbidden') : err.message);
  }
}

// ---------------------------------------------------------------- sensors

async function loadSensors() {
  const h = $('sensor-health').value;
  const kinds = h ? [h] : ['offline', 'low_battery', 'flapping', 'clock_skew'];
  const answers = await allDone(kinds.map((k) => api('/api/v1/sensors?health=' + k, { token: S.token })));
  const byID = new Map();
  for (const a of answers) for (const s of a.sensors) byID.set(s.sensor_id, s);
  S.sensors = [...byID.values()].sort((a, b) => (a.space_id < b.space_id ? -1 : 1));
}

function renderSensors() {
  const body = $('sensors').tBodies[0];
  const rows = S.sensors.slice(0, 300).map((s) => {
    const tr = document.createElement('tr');
    tr.dataset.sensor = s.sensor_id;
    tr.dataset.problems = s.problems.join(' ');
    for (const text of [s.space_id, s.sensor_id, s.problems.map((p) => t('problem.' + p)).join(', '),
      s.battery_mv ? (s.battery_mv / 1000).toFixed(2) + ' V' : '—', fmtTime(s.last_seen)]) {
      const td = document.createElement('td'); td.textContent = text; tr.appendChild(td);
    }
    return tr;
  });
  if (!rows.length) {
    const tr = document.createElement('tr');
    const td = document.createElement('td'); td.colSpan = 5; td.textContent = t('s.none');
    tr.appendChild(td); rows.push(tr);
  }
  body.replaceChildren(...rows);
  $('sensor-count').textContent = String(S.sensors.length);
}

// ---------------------------------------------------------------- chart

function fillChartZones() {
  const sel = $('chart-zone');
  const keep = sel.value || 'all';
  const opts = [['all', lang() === 'zh' ? '全镇' : 'Whole town'], ...[...S.zones.values()].map((z) => [z.id, `${z.id} ${z.name}`])];
  sel.replaceChildren(...opts.map(([v, label]) => { const o = document.createElement('option'); o.value = v; o.textContent = label; return o; }));
  sel.value = keep;
}

function lang() { return document.documentElement.lang.startsWith('zh') ? 'zh' : 'en'; }

const HOUR = 3600 * 1000;
const AHEAD = 6; // hours of forecast

async function loadChart() {
  if (!S.token) return;
  const zone = $('chart-zone').value || 'all';
  const now = Date.now();
  const from = new Date(now - 24 * HOUR).toISOString(), to = new Date(now).toISOString();
  const base = zone === 'all' ? '/api/v1' : `/api/v1/zones/${encodeURIComponent(zone)}`;
  try {
    const [hist, ...fc] = await Promise.all([
      api(`${base}/history?from=${from}&to=${to}&step=15m`, { token: S.token }),
      ...Array.from({ length: AHEAD * 2 }, (_, i) => api(`${base}/forecast?at=${new Date(now + (i + 1) * HOUR / 2).toISOString()}`, { token: S.token })),
    ]);
    S.lastChart = [zone, now, hist.points, fc];
    drawChart(zone, now, hist.points, fc);
  } catch (err) {
    if (!authFail(err)) $('chart-desc').textContent = err.message;
  }
}

function drawChart(zone, now, points, fc) {
  const svg = $('chart');
  const W = 600, H = 220, L = 34, Rr = 18, T = 10, B = 24;
  const x0 = now - 24 * HOUR, x1 = now + AHEAD * HOUR;
  const X = (ms) => L + ((ms - x0) / (x1 - x0)) * (W - L - Rr);
  const Y = (pct) => T + (1 - pct / 100) * (H - T - B);
  const occ = (p) => (p.total ? (100 * (p.total - p.free)) / p.total : 0);
  const parts = [];
  for (const p of [0, 25, 50, 75, 100]) {
    parts.push(`<line class="grid" x1="${L}" x2="${W - Rr}" y1="${Y(p)}" y2="${Y(p)}"/>`);
    parts.push(`<text class="axis" x="${L - 4}" y="${Y(p) + 4}" text-anchor="end">${p}%</text>`);
  }
  for (let h = -24; h <= AHEAD; h += 6) {
    const ms = now + h * HOUR;
    const d = new Date(ms);
    parts.push(`<line class="grid" x1="${X(ms)}" x2="${X(ms)}" y1="${T}" y2="${H - B}"/>`);
    parts.push(`<text class="axis" x="${X(ms)}" y="${H - 6}" text-anchor="middle">${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}</text>`);
  }
  parts.push(`<line class="now" x1="${X(now)}" x2="${X(now)}" y1="${T}" y2="${H - B}"/>`);
  const hist = points.map((p) => [X(Date.parse(p.start)), Y(occ(p))]);
  const current = zone === 'all' ? townNow() : S.zones.get(zone);
  if (current) hist.push([X(now), Y(occ(current))]);
  if (hist.length) parts.push(`<polyline class="hist" points="${hist.map((p) => p.join(',')).join(' ')}"/>`);
  const fpts = (current ? [[X(now), Y(occ(current))]] : []).concat(fc.map((f) => [X(Date.parse(f.at)), Y(occ(f))]));
  parts.push(`<polyline class="fc" points="${fpts.map((p) => p.join(',')).join(' ')}"/>`);
  svg.innerHTML = parts.join('');
  const name = zone === 'all' ? (lang() === 'zh' ? '全镇' : 'Whole town') : (S.zones.get(zone) || {}).name;
  $('chart-desc').textContent = t('s.chart.desc', { zone: name, now: current ? Math.round(occ(current)) : '—', fc: fc.length ? Math.round(occ(fc[fc.length - 1])) : '—' });
}

function townNow() {
  const c = { total: 0, free: 0 };
  for (const z of S.zones.values()) { c.total += z.total; c.free += z.free; }
  return c;
}

// ---------------------------------------------------------------- space panel

async function openPanel(id, quiet) {
  S.panel = id;
  const panel = $('space-panel');
  for (const el of document.querySelectorAll('#map .space.selected')) el.classList.remove('selected');
  const el = map.els.get(id);
  if (el) el.classList.add('selected');
  map.highlight([id]);
  let s;
  try {
    s = await api('/api/v1/spaces/' + encodeURIComponent(id), { token: S.token });
  } catch (err) {
    if (!authFail(err)) $('panel-msg').textContent = err.message;
    return;
  }
  if (S.panel !== id) return;
  $('panel-h').textContent = s.id;
  const z = S.zones.get(s.zone_id);
  const rows = [
    ['s.f.status', t('status.' + s.status)], ['s.f.zone', z ? `${z.id} ${z.name}` : s.zone_id], ['s.f.kind', t('kind.' + s.kind)],
    ['s.f.since', fmtTime(s.since)], ['s.f.seen', fmtTime(s.last_seen)], ['s.f.sensor', s.sensor_id],
    ['s.f.battery', s.battery_mv ? (s.battery_mv / 1000).toFixed(2) + ' V' : '—'],
    ['s.f.maxstay', s.max_stay_min ? t('min', { n: s.max_stay_min }) : t('nolimit')],
  ];
  $('panel-body').replaceChildren(...rows.flatMap(([k, v]) => {
    const dt = document.createElement('dt'); dt.textContent = t(k);
    const dd = document.createElement('dd'); dd.textContent = v;
    if (k === 's.f.status') dd.dataset.status = s.status;
    return [dt, dd];
  }));
  panel.dataset.id = s.id;
  panel.dataset.status = s.status;
  panel.querySelector('[data-action="close"]').hidden = s.status === 'closed';
  panel.querySelector('[data-action="open"]').hidden = s.status !== 'closed';
  $('close-reason').hidden = s.status === 'closed';
  translate(panel);
  if (!quiet) $('panel-msg').textContent = '';
  const wasHidden = panel.hidden;
  panel.hidden = false;
  if (wasHidden && !quiet) panel.querySelector('button[data-action]:not([hidden])').focus();
}

function closePanel() {
  const id = S.panel;
  $('space-panel').hidden = true;
  S.panel = '';
  map.highlight([]);
  const el = map.els.get(id);
  if (el) { el.classList.remove('selected'); el.focus(); }
}

async function spaceAction(action) {
  const id = S.panel;
  if (!id) return;
  const body = action === 'close' ? { reason: $('close-reason').value.trim() || t('s.reason.default') } : undefined;
  try {
    const res = await api(`/api/v1/spaces/${encodeURIComponent(id)}/${action}`, { token: S.token, method: 'POST', body });
    map.setStatus(id, res.space.status);
    $('panel-msg').textContent = t('s.done');
    $('panel-msg').dataset.kind = 'ok';
    announce(`${id}: ${t('status.' + res.space.status)}`);
    await openPanel(id, true);
    const next = $('space-panel').querySelector('button[data-action]:not([hidden])');
    if (next) next.focus();
  } catch (err) {
    if (authFail(err)) return;
    $('panel-msg').textContent = err.status === 403 ? t('s.forbidden') : err.message;
    $('panel-msg').dataset.kind = 'error';
  }
}

function showError(msg) {
  const el = $('error');
  el.textContent = msg;
  el.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => { el.hidden = true; }, 8000);
}

main();
