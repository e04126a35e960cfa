/**
 * The survival function of the two-sided one-sample Kolmogorov–Smirnov statistic Dₙ,
 * Pr(Dₙ ≥ x), as `scipy.stats.kstwo.sf(x, n)`: SciPy's `_kolmogn` (scipy/stats/_ksstats.py), which
 * chooses among exact and approximate methods by the rules of Simard & L'Ecuyer (2011),
 * "Computing the Two-Sided Kolmogorov-Smirnov Distribution", J. Stat. Softw. 39(11).
 */

import { smirnovSf } from "./smirnov.js";

const E128 = 2 ** 128;
const EM128 = 2 ** -128;
const STIRLING = [
  -0.029550653594771242, 0.00641025641025641, -0.0019175269175269176, 0.0008417508417508417,
  -0.0005952380952380953, 0.0007936507936507937, -0.002777777777777778, 0.08333333333333333,
];

const clip = (p: number) => Math.min(1, Math.max(0, p));

/** log(n!/nⁿ) by Stirling's series, with n·log n removed first (`_log_nfactorial_div_n_pow_n`). */
function logFactorialOverPower(n: number): number {
  const rn = 1 / n;
  let poly = 0;
  for (const c of STIRLING) poly = poly * (rn / n) + c;
  return Math.log(n) / 2 - n + Math.log(2 * Math.PI) / 2 + rn * poly;
}

/** Pr(Dₙ ≥ x), as `scipy.stats.kstwo.sf(x, n)` for a whole n ≥ 1. */
export function kstwoSf(x: number, n: number): number {
  if (!Number.isInteger(n) || n <= 0 || Number.isNaN(x)) return Number.NaN;
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const t = n * x;
  if (t <= 1) {
    // Ruben & Gambino (1982): exact for 1/2n ≤ x ≤ 1/n.
    if (t <= 0.5) return 1;
    let cdf: number;
    if (n <= 140) {
      cdf = 1;
      for (let i = 1; i <= n; i++) cdf *= i * (1 / n) * (2 * t - 1);
    } else cdf = Math.exp(logFactorialOverPower(n) + n * Math.log(2 * t - 1));
    return clip(1 - cdf);
  }
  if (t >= n - 1) return clip(2 * (1 - x) ** n);
  if (x >= 0.5) return clip(2 * smirnovSf(n, x));
  const nxSquared = t * x;
  if (n <= 140) {
    if (nxSquared <= 0.754693) return clip(1 - durbinMatrix(n, x));
    if (nxSquared <= 4) return clip(1 - pomeranz(n, x));
    return clip(2 * smirnovSf(n, x));
  }
  if (nxSquared >= 370) return 0;
  if (nxSquared >= 2.2) return clip(2 * smirnovSf(n, x));
  const cdf = n <= 100_000 && n * x ** 1.5 <= 1.4 ? durbinMatrix(n, x) : pelzGood(n, x);
  return clip(1 - cdf);
}

/** Square matrices stored row-major in a Float64Array. */
function multiply(a: Float64Array, b: Float64Array, m: number): Float64Array {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < m; k++) {
      const aik = a[i * m + k] ?? 0;
      if (aik === 0) continue;
      for (let j = 0; j < m; j++) out[i * m + j] = (out[i * m + j] ?? 0) + aik * (b[k * m + j] ?? 0);
    }
  }
  return out;
}

/**
 * Pr(Dₙ ≤ d) by Durbin's matrix (Durbin 1968) as Marsaglia, Tsang & Wang (2003) compute it:
 * the k-th diagonal entry of Hⁿ, scaled as it grows (`_kolmogn_DMTW`).
 */
function durbinMatrix(n: number, d: number): number {
  const nd = n * d;
  if (d >= 1) return 1;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let fac = 1;
  for (let j = 1; j <= m; j++) {
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] = (1 - h ** j) * fac;
  }
  v[m - 1] = (1 + (Math.max(2 * h - 1, 0) ** m - 2 * h ** m)) * fac;
  let hm: Float64Array = new Float64Array(m * m);
  for (let i = 1; i < m; i++) for (let r = i - 1; r < m; r++) hm[r * m + i] = w[r - i + 1] ?? 0;
  for (let r = 0; r < m; r++) hm[r * m] = v[r] ?? 0;
  for (let c = 0; c < m; c++) hm[(m - 1) * m + c] = v[m - 1 - c] ?? 0;
  let power: Float64Array = new Float64Array(m * m);
  for (let i = 0; i < m; i++) power[i * m + i] = 1;
  let nn = n;
  let exponent = 0;
  let hExponent = 0;
  while (nn > 0) {
    if (nn % 2) {
      power = multiply(power, hm, m);
      exponent += hExponent;
    }
    hm = multiply(hm, hm, m);
    hExponent *= 2;
    if (Math.abs(hm[(k - 1) * m + k - 1] ?? 0) > E128) {
      for (let i = 0; i < hm.length; i++) hm[i] = (hm[i] ?? 0) / E128;
      hExponent += 128;
    }
    nn = Math.floor(nn / 2);
  }
  let p = power[(k - 1) * m + k - 1] ?? 0;
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < EM128) {
      p *= E128;
      exponent -= 128;
    }
  }
  return clip(p * 2 ** exponent);
}

/** The interval of row i that can be non-zero in Pomeranz's recursion (`_pomeranz_compute_j1j2`). */
function pomeranzBounds(i: number, n: number, ll: number, ceilf: number, roundf: number): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) [j1, j2] = [-ll - ceilf - 1, ll + ceilf - 1];
  else {
    const half = Math.floor((i + 1) / 2);
    if ((i + 1) % 2 === 0) {
      if (half === n + 1) [j1, j2] = [n - ll - ceilf - 1, n + ll + ceilf - 1];
      else [j1, j2] = [half - 1 - ll - roundf - 1, half + ll - 1 + ceilf - 1];
    } else [j1, j2] = [half - 1 - ll - 1, half + ll + roundf - 1];
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/** Pr(Dₙ ≤ x) by Pomeranz's recursion (Pomeranz 1974, `_kolmogn_Pomeranz`), for n ≤ 140. */
function pomeranz(n: number, x: number): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilf = f > 0 ? 1 : 0;
  const roundf = f > 0.5 ? 1 : 0;
  const npwrs = 2 * (ll + 1);
  const gpower = new Float64Array(npwrs);
  const twogpower = new Float64Array(npwrs);
  const onem2gpower = new Float64Array(npwrs);
  gpower[0] = twogpower[0] = onem2gpower[0] = 1;
  for (let m = 1; m < npwrs; m++) {
    gpower[m] = ((gpower[m - 1] ?? 0) * (g / n)) / m;
    twogpower[m] = ((twogpower[m - 1] ?? 0) * ((2 * g) / n)) / m;
    onem2gpower[m] = ((onem2gpower[m - 1] ?? 0) * ((1 - 2 * g) / n)) / m;
  }
  let v0 = new Float64Array(npwrs);
  let v1 = new Float64Array(npwrs);
  v1[0] = 1;
  let v0s = 0;
  let v1s = 0;
  let exponent = 0;
  let [j1, j2] = pomeranzBounds(0, n, ll, ceilf, roundf);
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [v0, v1] = [v1, v0];
    [v0s, v1s] = [v1s, v0s];
    v1.fill(0);
    [j1, j2] = pomeranzBounds(i, n, ll, ceilf, roundf);
    const powers = i === 1 || i === 2 * n + 1 ? gpower : i % 2 ? twogpower : onem2gpower;
    const length = j2 - k1 + 1;
    if (length <= 0) continue;
    const offset = k1 - v0s;
    const start = j1 - k1;
    const count = j2 - j1 + 1;
    let largest = 0;
    // np.convolve(V0[offset:offset+length], powers[:length]), entries start..start+count-1.
    for (let c = 0; c < count; c++) {
      const index = start + c;
      let value = 0;
      for (let a = Math.max(0, index - length + 1); a <= Math.min(index, length - 1); a++) {
        value += (v0[offset + a] ?? 0) * (powers[index - a] ?? 0);
      }
      v1[c] = value;
      largest = Math.max(largest, value);
    }
    if (largest > 0 && largest < EM128) {
      for (let c = 0; c < v1.length; c++) v1[c] = (v1[c] ?? 0) * E128;
      exponent -= 128;
    }
    v1s = v0s + j1 - k1;
  }
  let answer = v1[n - v1s] ?? 0;
  for (let m = 1; m <= n; m++) {
    if (Math.abs(answer) > E128) {
      answer *= EM128;
      exponent += 128;
    }
    answer *= m;
  }
  return clip(answer * 2 ** exponent);
}

/**
 * The Pelz–Good (1976) approximation to Pr(Dₙ ≤ x): the Li-Chien/Korolyuk expansion
 * K0 + K1/√n + K2/n + K3/n^1.5 rewritten with Jacobi theta functions (`_kolmogn_PelzGood`).
 */
function pelzGood(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const pi2 = Math.PI ** 2;
  const pi4 = Math.PI ** 4;
  const pi6 = Math.PI ** 6;
  const z = Math.sqrt(n) * x;
  const [z2, z3, z4, z6] = [z ** 2, z ** 3, z ** 4, z ** 6];
  const qlog = -pi2 / 8 / z2;
  if (qlog < -708) return 0;
  let q = Math.exp(qlog);
  const k1a = -z2;
  const k1b = pi2 / 4;
  const k2a = 6 * z6 + 2 * z4;
  const k2b = ((2 * z4 - 5 * z2) * pi2) / 4;
  const k2c = (pi4 * (1 - 2 * z2)) / 16;
  const k3d = (pi6 * (5 - 30 * z2)) / 64;
  const k3c = (pi4 * (-60 * z2 + 212 * z4)) / 16;
  const k3b = (pi2 * (135 * z4 - 96 * z6)) / 4;
  const k3a = -30 * z6 - 90 * z ** 8;
  const sums = [0, 0, 0, 0];
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k > 0; k--) {
    const m = 2 * k - 1;
    const [m2, m4, m6] = [m ** 2, m ** 4, m ** 6];
    const qpower = q ** (8 * k);
    const coefficients = [1, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6];
    for (let i = 0; i < 4; i++) sums[i] = (sums[i] ?? 0) * qpower + (coefficients[i] ?? 0);
  }
  const divisors = [z, 6 * z4, 72 * z ** 7, 6480 * z ** 10];
  const k = sums.map((s, i) => (s * q * Math.sqrt(2 * Math.PI)) / (divisors[i] ?? 1));
  q = Math.exp(-pi2 / 2 / z2);
  let k2extra = 0;
  let k3extra = 0;
  const sqrt3z = Math.sqrt(3) * z;
  for (let j = maxk; j > 0; j--) {
    const qp = q ** (j * j);
    k2extra += j * j * qp;
    k3extra += (sqrt3z + Math.PI * j) * (sqrt3z - Math.PI * j) * j * j * qp;
  }
  k[2] = (k[2] ?? 0) + (k2extra * pi2 * Math.sqrt(2 * Math.PI)) / (-36 * z3);
  k[3] = (k[3] ?? 0) + (k3extra * pi2 * Math.sqrt(2 * Math.PI)) / (216 * z6);
  return k.reduce((total, term, i) => total + term / n ** (i / 2), 0);
}
