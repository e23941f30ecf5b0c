// "导航 / Navigate": links that take a driver to a space in AMap, Baidu
// Maps, Tencent Maps or any map app (geo:), each with the coordinates it
// expects, and a link to share a space. Each provider's URI is documented
// by the provider; docs/web.md lists the pages relied on:
//   AMap     web  uri.amap.com/navigation (to=lon,lat,name; coordinate=gaode: GCJ-02)
//            app  amapuri://route/plan/ (Android), iosamap://path (iOS); dev=0: GCJ-02
//   Baidu    web  api.map.baidu.com/marker; app baidumap://map/direction; coord_type=bd09ll: BD-09
//   Tencent  web  apis.map.qq.com/uri/v1/marker; app qqmap://map/routeplan; tocoord GCJ-02
//   others   geo:lat,lon (RFC 5870, WGS-84)
import { addStrings, t, lang, esc, onLang } from './common.js?v=__V__';
import { wgs84ToGcj02, gcj02ToBd09 } from './geo.js?v=__V__';

addStrings({
  zh: {
    'nav.go': '导航', 'nav.amap': '高德地图', 'nav.baidu': '百度地图', 'nav.tencent': '腾讯地图', 'nav.geo': '其他地图 App',
    'nav.to': '导航到 {id}', 'nav.share': '分享这个车位', 'nav.copied': '链接已复制', 'nav.copy': '复制这个链接：',
    'nav.close': '关闭', 'nav.wechat': '在微信里打不开地图 App 时：点右上角 ··· 选「在浏览器打开」',
    'nav.where': '{zone} · {kind} · {status}',
  },
  en: {
    'nav.go': 'Navigate', 'nav.amap': 'AMap', 'nav.baidu': 'Baidu Maps', 'nav.tencent': 'Tencent Maps', 'nav.geo': 'Other map app',
    'nav.to': 'Navigate to {id}', 'nav.share': 'Share this space', 'nav.copied': 'Link copied', 'nav.copy': 'Copy this link:',
    'nav.close': 'Close', 'nav.wechat': 'If WeChat does not open the map app: tap ··· at the top right, then "Open in browser"',
    'nav.where': '{zone} · {kind} · {status}',
  },
});

const SRC = 'qiuai-parking'; // who is calling, as the providers ask
const AMAP_WEB = 'https://uri.amap.com/navigation';
const BAIDU_WEB = 'https://api.map.baidu.com/marker';
const TENCENT_WEB = 'https://apis.map.qq.com/uri/v1/marker';

/** What the browser is: a phone (iOS or Android), WeChat's in-app browser
 * (which opens no app links), or neither (a desktop). */
export function platform(ua = navigator.userAgent) {
  const wechat = /MicroMessenger/i.test(ua);
  const ios = /iPhone|iPad|iPod/i.test(ua) || (/Macintosh/.test(ua) && navigator.maxTouchPoints > 1);
  const android = /Android/i.test(ua);
  return { wechat, ios, android, apps: (ios || android) && !wechat };
}

const f6 = (v) => v.toFixed(6);

/** The navigation links to a WGS-84 position: [{id, href, web}], href the
 * app's link on a phone, the provider's web map elsewhere (and in WeChat);
 * web always the web map. */
export function navLinks(lat, lon, name, p = platform()) {
  const [glat, glon] = wgs84ToGcj02(lat, lon);
  const [blat, blon] = gcj02ToBd09(glat, glon);
  const n = encodeURIComponent(name);
  const q = (o) => new URLSearchParams(o).toString();
  const web = {
    amap: `${AMAP_WEB}?${q({ to: `${f6(glon)},${f6(glat)},${name}`, mode: 'car', policy: '1', coordinate: 'gaode', callnative: '1', src: SRC })}`,
    baidu: `${BAIDU_WEB}?${q({ location: `${f6(blat)},${f6(blon)}`, title: name, content: name, coord_type: 'bd09ll', output: 'html', src: 'webapp.' + SRC })}`,
    tencent: `${TENCENT_WEB}?${q({ marker: `coord:${f6(glat)},${f6(glon)};title:${name};addr:${name}`, referer: SRC })}`,
  };
  const app = {
    amap: p.ios ? `iosamap://path?${q({ sourceApplication: SRC, dlat: f6(glat), dlon: f6(glon), dname: name, dev: '0', t: '0' })}`
      : `amapuri://route/plan/?${q({ sourceApplication: SRC, dlat: f6(glat), dlon: f6(glon), dname: name, dev: '0', t: '0' })}`,
    baidu: `baidumap://map/direction?${q({ destination: `latlng:${f6(blat)},${f6(blon)}|name:${name}`, coord_type: 'bd09ll', mode: 'driving', src: (p.ios ? 'ios.' : 'andr.') + SRC })}`,
    tencent: `qqmap://map/routeplan?${q({ type: 'drive', fromcoord: 'CurrentLocation', to: name, tocoord: `${f6(glat)},${f6(glon)}`, referer: SRC })}`,
  };
  const links = ['amap', 'baidu', 'tencent'].map((id) => ({ id, href: p.apps ? app[id] : web[id], web: web[id] }));
  links.push({ id: 'geo', href: `geo:${f6(lat)},${f6(lon)}?q=${f6(lat)},${f6(lon)}(${n})`, web: '' });
  return links;
}

/** The page's own link to a space: it opens the map centred on it. */
export function shareURL(id) {
  const u = new URL('/', location.href);
  u.searchParams.set('space', id);
  if (lang() === 'en') u.searchParams.set('lang', 'en');
  return u.href;
}

/** The card of one space (section#space-card): where it is, the navigation
 * links and a share button. */
export class SpaceCard {
  constructor(el) {
    this.el = el;
    this.space = null;
    this.returnTo = null;
    el.querySelector('[data-card="close"]').addEventListener('click', () => this.close());
    el.addEventListener('keydown', (e) => { if (e.key === 'Escape') this.close(); });
    el.querySelector('[data-card="share"]').addEventListener('click', () => this.share());
    el.addEventListener('click', (e) => this.follow(e));
    onLang(() => this.render());
  }

  /** Shows space s ({id, lat, lon, kind, status}) in zone zoneName; the
   * card follows the status on the map element el. */
  open(s, zoneName, el) {
    if (!this.el.hidden && this.space && this.space.id === s.id) return;
    if (this.watch) this.watch.disconnect();
    this.watch = new MutationObserver(() => this.render());
    if (el) this.watch.observe(el, { attributes: true, attributeFilter: ['data-status'] });
    this.returnTo = this.el.contains(document.activeElement) ? this.returnTo : document.activeElement;
    this.space = s; this.zoneName = zoneName;
    this.render();
    this.el.hidden = false;
    this.el.querySelector('h2').focus();
  }

  close() {
    if (this.watch) this.watch.disconnect();
    this.el.hidden = true;
    this.space = null;
    if (this.returnTo && this.returnTo.isConnected) this.returnTo.focus();
  }

  render() {
    const s = this.space;
    if (!s) return;
    this.el.dataset.id = s.id;
    this.el.querySelector('h2').textContent = t('nav.to', { id: s.id });
    this.el.querySelector('[data-card="where"]').textContent =
      t('nav.where', { zone: this.zoneName, kind: t('kind.' + s.kind), status: t('status.' + s.status) });
    const p = platform();
    const items = navLinks(s.lat, s.lon, `${this.zoneName} ${s.id}`, p).map((l) =>
      `<li><a class="nav-link" data-nav="${l.id}" data-web="${esc(l.web)}" href="${esc(l.href)}" rel="noopener">${esc(t('nav.' + l.id))}</a></li>`);
    this.el.querySelector('[data-card="links"]').innerHTML = items.join('');
    this.el.querySelector('[data-card="wechat"]').hidden = !p.wechat;
    this.el.querySelector('[data-card="copy"]').hidden = true;
  }

  /** An app link on a phone: when the app is not there the page stays
   * visible, and the provider's web map opens instead. */
  follow(e) {
    const a = e.target.closest('a[data-web]');
    if (!a || !a.dataset.web || a.href.startsWith('http')) return;
    const timer = setTimeout(() => { if (document.visibilityState === 'visible') location.href = a.dataset.web; }, 1500);
    document.addEventListener('visibilitychange', () => clearTimeout(timer), { once: true });
  }

  async share() {
    const url = shareURL(this.space.id), say = this.el.querySelector('[data-card="copy"]');
    try {
      if (navigator.share) { await navigator.share({ title: t('nav.to', { id: this.space.id }), url }); return; }
      await navigator.clipboard.writeText(url);
      say.textContent = t('nav.copied');
    } catch (err) {
      if (err && err.name === 'AbortError') return; // the share sheet was dismissed
      say.textContent = t('nav.copy') + ' ' + url; // no clipboard (WeChat, http): the user copies it
    }
    say.hidden = false;
  }
}
