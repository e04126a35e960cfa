/**
 * The special functions the drift tests need: erfc (for the normal survival function) and the
 * regularized upper incomplete gamma function (for the chi-square survival function).
 *
 * Written here rather than taken from npm: `@stdlib/math-base-special-gammainc` 0.3.1, the
 * well-kept candidate, is off by up to 1.3% for a ≥ 1000 (a = 1000, x = 1050 gives 0.05946
 * where SciPy's `gammaincc` gives 0.05867), and four stdlib functions pull in 165 packages.
 * These ports follow Cephes as kept in SciPy's `xsf` (ndtr.h, igam.h, lanczos.h, unity.h) and
 * are tested against `scipy.special` to 1e-12 relative.
 */

const MACHEP = 1.1102230246251565e-16;
const MAXLOG = 709.782712893384;
const MAX_ITERATIONS = 2000;

// Cephes ndtr.h: erfc(x) = exp(-x²) P(x)/Q(x) on [1, 8), R(x)/S(x) beyond; erf on [0, 1) is x T(x²)/U(x²).
const ERFC_P = [
  2.461969814735305e-10, 0.5641895648310689, 7.463210564422699, 48.63719709856814, 196.5208329560771,
  526.4451949954773, 934.5285271719576, 1027.5518868951572, 557.5353353693994,
];
const ERFC_Q = [
  1, 13.228195115474499, 86.70721408859897, 354.9377788878199, 975.7085017432055, 1823.9091668790973,
  2246.3376081871097, 1656.6630919416134, 557.5353408177277,
];
const ERFC_R = [
  0.5641895835477551, 1.275366707599781, 5.019050422511805, 6.160210979930536, 7.4097426995044895,
  2.9788666537210022,
];
const ERFC_S = [
  1, 2.2605286322011726, 9.396035249380015, 12.048953980809666, 17.08144507475659, 9.608968090632859,
  3.369076451000815,
];
const ERF_T = [9.604973739870516, 90.02601972038427, 2232.005345946843, 7003.325141128051, 55592.30130103949];
const ERF_U = [
  1, 33.56171416475031, 521.3579497801527, 4594.323829709801, 22629.000061389095, 49267.39426086359,
];

// Boost's Lanczos approximation N = 13, g = 6.02468004077673 (as in Cephes lanczos.h).
export const LANCZOS_G = 6.02468004077673;
const LANCZOS_EXPG_SCALED_NUM = [
  0.006061842346248907, 0.5098416655656676, 19.519927882476175, 449.9445569063168, 6955.999602515376,
  75999.29304014542, 601859.6171681099, 3481712.154980646, 14605578.087685067, 43338889.32467614,
  86363131.2881386, 103794043.11634454, 56906521.913471565,
];
const LANCZOS_DENOM = [
  1, 66, 1925, 32670, 357423, 2637558, 13339535, 45995730, 105258076, 150917976, 120543840, 39916800, 0,
];

/** Horner's rule with coefficients from the highest power down (Cephes `polevl`). */
function polynomial(x: number, coefficients: readonly number[]): number {
  let result = 0;
  for (const c of coefficients) result = result * x + c;
  return result;
}

/** A rational function evaluated in x, or in 1/x when |x| > 1 (Cephes `ratevl`, M = N). */
function rational(x: number, numerator: readonly number[], denominator: readonly number[]): number {
  if (Math.abs(x) <= 1) return polynomial(x, numerator) / polynomial(x, denominator);
  const y = 1 / x;
  return polynomial(y, [...numerator].reverse()) / polynomial(y, [...denominator].reverse());
}

/** Γ(x) e^{x+g-0.5} / (x+g-0.5)^{x-0.5}: the Lanczos sum, scaled. */
export function lanczosSumExpgScaled(x: number): number {
  return rational(x, LANCZOS_EXPG_SCALED_NUM, LANCZOS_DENOM);
}

/** The error function (Cephes `erf`). */
export function erf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x < 0) return -erf(-x);
  if (x > 1) return 1 - erfc(x);
  const z = x * x;
  return (x * polynomial(z, ERF_T)) / polynomial(z, ERF_U);
}

/** The complementary error function 1 − erf(x), accurate in the tail (Cephes `erfc`). */
export function erfc(a: number): number {
  if (Number.isNaN(a)) return Number.NaN;
  const x = Math.abs(a);
  if (x < 1) return 1 - erf(a);
  const z = -a * a;
  if (z < -MAXLOG) return a < 0 ? 2 : 0;
  const e = Math.exp(z);
  const y =
    x < 8
      ? (e * polynomial(x, ERFC_P)) / polynomial(x, ERFC_Q)
      : (e * polynomial(x, ERFC_R)) / polynomial(x, ERFC_S);
  return a < 0 ? 2 - y : y;
}

/** The standard normal CDF Φ(a) (Cephes `ndtr`). */
export function normalCdf(a: number): number {
  const x = a * Math.SQRT1_2;
  const z = Math.abs(x);
  if (z < 1) return 0.5 + 0.5 * erf(x);
  const y = 0.5 * erfc(z);
  return x > 0 ? 1 - y : y;
}

/** The standard normal survival function 1 − Φ(z), as `scipy.stats.norm.sf` (= `ndtr(-z)`). */
export function normalSf(z: number): number {
  return normalCdf(-z);
}

/** log(1 + x) − x without cancellation for small x (Cephes `log1pmx`). */
export function log1pmx(x: number): number {
  if (Math.abs(x) >= 0.5) return Math.log1p(x) - x;
  let power = x;
  let result = 0;
  for (let n = 2; n < MAX_ITERATIONS; n++) {
    power *= -x;
    const term = power / n;
    result += term;
    if (Math.abs(term) < MACHEP * Math.abs(result)) break;
  }
  return result;
}

/** log Γ(x) for x > 0 from the Lanczos approximation (Boost `lgamma`, without its near-1/2 rational forms). */
export function logGamma(x: number): number {
  if (x < 0.5) return logGamma(x + 1) - Math.log(x);
  const zgh = x + LANCZOS_G - 0.5;
  return (x - 0.5) * (Math.log(zgh) - 1) + Math.log(lanczosSumExpgScaled(x));
}

/**
 * x^a e^{-x} / Γ(a), the factor in front of both series (Boost `regularised_gamma_prefix`): the
 * Lanczos form keeps it accurate where a and x are large and close, which the plain
 * exp(a log x − x − log Γ(a)) is not (SciPy's `igam_fac` uses that form only when |a − x| > 0.4a).
 */
function gammaPrefix(a: number, x: number): number {
  const agh = a + LANCZOS_G - 0.5;
  const scale = Math.sqrt(agh / Math.E) / lanczosSumExpgScaled(a);
  const d = (x - a - LANCZOS_G + 0.5) / agh;
  if (Math.abs(d * d * a) <= 100 && a > 150) {
    return scale * Math.exp(a * log1pmx(d) + (x * (0.5 - LANCZOS_G)) / agh);
  }
  const logPart = a * Math.log(x / agh) + (a - x);
  if (logPart < -MAXLOG || logPart > MAXLOG) return Math.exp(logPart + Math.log(scale));
  const plain = (x / agh) ** a * Math.exp(a - x);
  return Number.isFinite(plain) && plain > 0 ? scale * plain : Math.exp(logPart + Math.log(scale));
}

/** P(a, x) by its power series (DLMF 8.11.4), for x < a. */
function lowerSeries(a: number, x: number): number {
  const prefix = gammaPrefix(a, x);
  if (prefix === 0) return 0;
  let r = a;
  let c = 1;
  let sum = 1;
  for (let i = 0; i < MAX_ITERATIONS; i++) {
    r += 1;
    c *= x / r;
    sum += c;
    if (c <= MACHEP * sum) break;
  }
  return (sum * prefix) / a;
}

/** Q(a, x) by its continued fraction (DLMF 8.9.2, Cephes `igamc_continued_fraction`), for x > a. */
function upperContinuedFraction(a: number, x: number): number {
  const prefix = gammaPrefix(a, x);
  if (prefix === 0) return 0;
  const big = 4503599627370496.0;
  let y = 1 - a;
  let z = x + y + 1;
  let c = 0;
  let pkm2 = 1;
  let qkm2 = x;
  let pkm1 = x + 1;
  let qkm1 = z * x;
  let answer = pkm1 / qkm1;
  for (let i = 0; i < MAX_ITERATIONS; i++) {
    c += 1;
    y += 1;
    z += 2;
    const yc = y * c;
    const pk = pkm1 * z - pkm2 * yc;
    const qk = qkm1 * z - qkm2 * yc;
    let change = 1;
    if (qk !== 0) {
      const r = pk / qk;
      change = Math.abs((answer - r) / r);
      answer = r;
    }
    [pkm2, pkm1, qkm2, qkm1] = [pkm1, pk, qkm1, qk];
    if (Math.abs(pk) > big) {
      pkm2 /= big;
      pkm1 /= big;
      qkm2 /= big;
      qkm1 /= big;
    }
    if (change <= MACHEP) break;
  }
  return answer * prefix;
}

/** Q(a, x) for small x by DLMF 8.7.3, avoiding the cancellation in 1 − P (Cephes `igamc_series`). */
function upperSmallX(a: number, x: number): number {
  let factor = 1;
  let sum = 0;
  for (let n = 1; n < MAX_ITERATIONS; n++) {
    factor *= -x / n;
    const term = factor / (a + n);
    sum += term;
    if (Math.abs(term) <= MACHEP * Math.abs(sum)) break;
  }
  const logX = Math.log(x);
  const head = -Math.expm1(a * logX - logGamma(a + 1));
  return head - Math.exp(a * logX - logGamma(a)) * sum;
}

/**
 * The regularized upper incomplete gamma function Q(a, x) = Γ(a, x)/Γ(a), as `scipy.special.gammaincc`.
 * The regions follow Cephes `igamc`, except that where Cephes switches to Temme's asymptotic
 * series (a > 20, x near a) the series and continued fraction are used with the Lanczos prefix.
 */
export function gammaincc(a: number, x: number): number {
  if (Number.isNaN(a) || Number.isNaN(x) || a < 0 || x < 0) return Number.NaN;
  if (a === 0) return x > 0 ? 0 : Number.NaN;
  if (x === 0) return 1;
  if (!Number.isFinite(a)) return Number.isFinite(x) ? 1 : Number.NaN;
  if (!Number.isFinite(x)) return 0;
  if (x > 1.1) return x < a ? 1 - lowerSeries(a, x) : upperContinuedFraction(a, x);
  if (x <= 0.5) return -0.4 / Math.log(x) < a ? 1 - lowerSeries(a, x) : upperSmallX(a, x);
  return x * 1.1 < a ? 1 - lowerSeries(a, x) : upperSmallX(a, x);
}

/** The chi-square survival function with `df` degrees of freedom, as `scipy.stats.chi2.sf` (`chdtrc`). */
export function chiSquareSf(statistic: number, df: number): number {
  if (statistic < 0) return 1;
  return gammaincc(df / 2, statistic / 2);
}

/** The chi-square quantile: the x with chiSquareSf(x, df) = p, by bisection (used for noise floors only). */
export function chiSquareIsf(p: number, df: number): number {
  let low = 0;
  let high = Math.max(1, df);
  while (chiSquareSf(high, df) > p) high *= 2;
  for (let i = 0; i < 200 && high - low > 1e-12 * high; i++) {
    const middle = (low + high) / 2;
    if (chiSquareSf(middle, df) > p) low = middle;
    else high = middle;
  }
  return (low + high) / 2;
}
