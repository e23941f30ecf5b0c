// Coordinate systems of maps in China and the Web Mercator projection of
// raster tiles. The same algorithm as parkd's Go package occupancy/geo
// (the browser tests check that both give the same numbers): WGS-84 (GPS,
// the registry) → GCJ-02 (AMap, Tencent, most tiles in China) with the
// published formula, its inverse by iteration, and GCJ-02 → BD-09 (Baidu).

const KRASOVSKY_A = 6378245.0;
const KRASOVSKY_EE = 0.00669342162296594323;
const BD_X_PI = Math.PI * 3000.0 / 180.0;

/** Whether a position is outside the rough box of China, where GCJ-02 is WGS-84. */
export function outOfChina(lat, lon) {
  return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
}

function offset(lat, lon) {
  const x = lon - 105.0, y = lat - 35.0, P = Math.PI;
  let dLat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
  dLat += (20.0 * Math.sin(6.0 * x * P) + 20.0 * Math.sin(2.0 * x * P)) * 2.0 / 3.0;
  dLat += (20.0 * Math.sin(y * P) + 40.0 * Math.sin(y / 3.0 * P)) * 2.0 / 3.0;
  dLat += (160.0 * Math.sin(y / 12.0 * P) + 320 * Math.sin(y * P / 30.0)) * 2.0 / 3.0;
  let dLon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
  dLon += (20.0 * Math.sin(6.0 * x * P) + 20.0 * Math.sin(2.0 * x * P)) * 2.0 / 3.0;
  dLon += (20.0 * Math.sin(x * P) + 40.0 * Math.sin(x / 3.0 * P)) * 2.0 / 3.0;
  dLon += (150.0 * Math.sin(x / 12.0 * P) + 300.0 * Math.sin(x / 30.0 * P)) * 2.0 / 3.0;
  const rad = lat / 180.0 * P;
  const magic = 1 - KRASOVSKY_EE * Math.sin(rad) * Math.sin(rad);
  const sqrtMagic = Math.sqrt(magic);
  dLat = (dLat * 180.0) / ((KRASOVSKY_A * (1 - KRASOVSKY_EE)) / (magic * sqrtMagic) * P);
  dLon = (dLon * 180.0) / (KRASOVSKY_A / sqrtMagic * Math.cos(rad) * P);
  return [dLat, dLon];
}

/** WGS-84 → GCJ-02, as [lat, lon]. */
export function wgs84ToGcj02(lat, lon) {
  if (outOfChina(lat, lon)) return [lat, lon];
  const [dLat, dLon] = offset(lat, lon);
  return [lat + dLat, lon + dLon];
}

/** GCJ-02 → WGS-84 by iteration (to 1e-10°), as [lat, lon]. */
export function gcj02ToWgs84(lat, lon) {
  if (outOfChina(lat, lon)) return [lat, lon];
  let wLat = lat, wLon = lon;
  for (let i = 0; i < 30; i++) {
    const [gLat, gLon] = wgs84ToGcj02(wLat, wLon);
    const eLat = gLat - lat, eLon = gLon - lon;
    if (Math.abs(eLat) < 1e-10 && Math.abs(eLon) < 1e-10) break;
    wLat -= eLat; wLon -= eLon;
  }
  return [wLat, wLon];
}

/** GCJ-02 → BD-09 (Baidu), as [lat, lon]. */
export function gcj02ToBd09(lat, lon) {
  const z = Math.sqrt(lon * lon + lat * lat) + 0.00002 * Math.sin(lat * BD_X_PI);
  const theta = Math.atan2(lat, lon) + 0.000003 * Math.cos(lon * BD_X_PI);
  return [z * Math.sin(theta) + 0.006, z * Math.cos(theta) + 0.0065];
}

/** The conversions from and to WGS-84 of a tile source's coordinate system. */
export function crsOf(name) {
  if (name === 'gcj02') return { name, from: wgs84ToGcj02, to: gcj02ToWgs84 };
  return { name: 'wgs84', from: (lat, lon) => [lat, lon], to: (lat, lon) => [lat, lon] };
}

// Web Mercator as XYZ tiles use it: x and y from 0 to 1 across the world,
// y growing southwards.
const MAX_LAT = 85.0511287798;

/** A position's Web Mercator coordinates, [x, y] in 0..1. */
export function mercator(lat, lon) {
  const s = Math.sin(Math.max(-MAX_LAT, Math.min(MAX_LAT, lat)) * Math.PI / 180);
  return [(lon + 180) / 360, 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)];
}

/** The position of Web Mercator coordinates, [lat, lon]. */
export function unmercator(x, y) {
  const lat = Math.atan(Math.sinh(Math.PI * (1 - 2 * y))) * 180 / Math.PI;
  return [lat, x * 360 - 180];
}
