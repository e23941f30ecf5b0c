// The raster tiles under the town map: XYZ tiles of 256 pixels in Web
// Mercator, drawn as <image> elements in the map's SVG so that they pan and
// zoom with everything else. One level of tiles at a time, the one nearest
// the view's scale; the level shown before stays underneath until the new
// one has loaded, so zooming never shows a blank map.

const SVGNS = 'http://www.w3.org/2000/svg'; // a namespace name, not a fetch
const MAX_TILES = 200; // a view that would need more (a tiny map zoomed far out) keeps the tiles it has

export class TileLayer {
  /** g: the SVG group to draw in; source: the tiles of /api/v1/map;
   * world: {C, x0, y0}, the map's units: x = mercatorX·C − x0. */
  constructor(g, source, world) {
    this.g = g;
    this.src = source;
    this.world = world;
    this.levels = new Map(); // z -> {g, tiles: Map "x/y" -> <image>}
    this.z = null;
  }

  /** The tile level for a scale of pxPerUnit CSS pixels per map unit. */
  zoomFor(pxPerUnit) {
    const z = Math.round(Math.log2(pxPerUnit * this.world.C / 256) + 1e-9);
    return Math.max(this.src.min_zoom, Math.min(this.src.max_zoom, z));
  }

  url(z, x, y) {
    const s = this.src.subdomains || '';
    return this.src.url.replaceAll('{z}', z).replaceAll('{x}', x).replaceAll('{y}', y)
      .replaceAll('{s}', s ? s[(x + y) % s.length] : '');
  }

  /** Shows the tiles that cover view v ({x, y, w, h} in map units). */
  update(v, pxPerUnit) {
    const z = this.zoomFor(pxPerUnit), n = 2 ** z, size = this.world.C / n;
    const { x0, y0 } = this.world;
    const tx0 = Math.max(0, Math.floor((v.x + x0) / size)), tx1 = Math.min(n - 1, Math.ceil((v.x + v.w + x0) / size) - 1);
    const ty0 = Math.max(0, Math.floor((v.y + y0) / size)), ty1 = Math.min(n - 1, Math.ceil((v.y + v.h + y0) / size) - 1);
    if ((tx1 - tx0 + 1) * (ty1 - ty0 + 1) > MAX_TILES) return;
    const level = this.level(z);
    const want = new Set();
    for (let ty = ty0; ty <= ty1; ty++) {
      for (let tx = tx0; tx <= tx1; tx++) {
        const key = tx + '/' + ty;
        want.add(key);
        if (!level.tiles.has(key)) level.tiles.set(key, this.tile(z, tx, ty, size));
      }
    }
    for (const [key, el] of level.tiles) if (!want.has(key)) { el.remove(); level.tiles.delete(key); }
    this.z = z;
    this.settle();
  }

  level(z) {
    let level = this.levels.get(z);
    if (!level) {
      const g = document.createElementNS(SVGNS, 'g');
      g.dataset.z = z;
      this.levels.set(z, level = { g, tiles: new Map() });
    }
    if (this.g.lastElementChild !== level.g) this.g.appendChild(level.g); // the current level on top
    return level;
  }

  tile(z, x, y, size) {
    const img = document.createElementNS(SVGNS, 'image');
    img.setAttribute('class', 'tile');
    img.setAttribute('x', (x * size - this.world.x0).toFixed(2));
    img.setAttribute('y', (y * size - this.world.y0).toFixed(2));
    img.setAttribute('width', size.toFixed(3));
    img.setAttribute('height', size.toFixed(3));
    img.setAttribute('preserveAspectRatio', 'none');
    img.dataset.z = z; img.dataset.x = x; img.dataset.y = y;
    const done = (state) => () => { img.dataset.loaded = state; this.settle(); };
    img.addEventListener('load', done('1'), { once: true });
    img.addEventListener('error', done('error'), { once: true });
    img.setAttribute('href', this.url(z, x, y));
    this.levels.get(z).g.appendChild(img);
    return img;
  }

  /** Drops the other levels once the current one has loaded. */
  settle() {
    const level = this.levels.get(this.z);
    if (!level) return;
    for (const el of level.tiles.values()) if (!el.dataset.loaded) return;
    for (const [z, other] of this.levels) {
      if (z !== this.z) { other.g.remove(); this.levels.delete(z); }
    }
  }
}
