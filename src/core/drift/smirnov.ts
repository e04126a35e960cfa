/**
 * The one-sided Smirnov distribution's survival function Pr(D⁺ₙ ≥ x), as `scipy.special.smirnov`.
 *
 * SciPy evaluates the Birnbaum–Tingey sum (Smirnov 1944; Birnbaum & Tingey 1951; van Mulbregt
 * 2018, arXiv:1802.06966) in double-double arithmetic (xsf cephes/kolmogorov.h). Here each term is
 * computed in logarithms from exactly split parts of n·x, which keeps its relative error near
 * (n·x + v)·ε, far inside the 1e-9 that the tests hold it to; the same branches and stopping rule
 * as SciPy's are kept.
 */

const MINLOG = -745.1332191019412;
const SMIRNOV_MAX_COMPUTE_N = 1_000_000;
const SM_UPPER_MAX_TERMS = 3;
const SM_UPPERSUM_MIN_N = 10;
const EPSILON = 2.220446049250313e-16;
const SPLITTER = 134217729; // 2^27 + 1, Dekker's split

/** Dekker's exact product: [p, e] with p + e = a·b exactly. */
function twoProduct(a: number, b: number): [number, number] {
  const p = a * b;
  const ca = SPLITTER * a;
  const ah = ca - (ca - a);
  const al = a - ah;
  const cb = SPLITTER * b;
  const bh = cb - (cb - b);
  const bl = b - bh;
  return [p, ah * bh - p + ah * bl + al * bh + al * bl];
}

/** floor(n·x) and the exact remainder α ∈ [0, 1) (xsf `modNX`). */
function splitNx(n: number, x: number): { floor: number; alpha: number } {
  const [p, e] = twoProduct(n, x);
  let floor = Math.floor(p);
  if (p === floor && e < 0) floor -= 1;
  let alpha = p - floor + e;
  if (alpha >= 1) {
    floor += 1;
    alpha = 0;
  }
  return { floor, alpha };
}

/** Sums with Neumaier's compensation, so the order of many terms does not matter. */
class CompensatedSum {
  private sum = 0;
  private compensation = 0;
  add(value: number): void {
    const t = this.sum + value;
    this.compensation += Math.abs(this.sum) >= Math.abs(value) ? this.sum - t + value : value - t + this.sum;
    this.sum = t;
  }
  get value(): number {
    return this.sum + this.compensation;
  }
}

/**
 * log|A_v| and its sign, where A_v = C(n,v) (x + v/n)^(v−1) (1 − x − v/n)^(n−v); y = x + v/n is
 * rebuilt from the exact parts of n·x so that 1 − y loses nothing.
 */
function logTerm(n: number, v: number, nxFloor: number, alpha: number, logBinomial: number) {
  const y = (nxFloor + v + alpha) / n;
  const rest = (n - v - nxFloor - alpha) / n;
  const log1 = v === 1 ? 0 : (v - 1) * Math.log(y);
  const log2 = n === v ? 0 : (n - v) * (rest > 0.5 ? Math.log1p(-y) : Math.log(Math.abs(rest)));
  const sign = rest < 0 && (n - v) % 2 === 1 ? -1 : 1;
  return { log: logBinomial + log1 + log2, sign };
}

/** The survival function of the one-sided Smirnov statistic, as `scipy.special.smirnov(n, x)`. */
export function smirnovSf(n: number, x: number): number {
  if (!(n > 0 && x >= 0 && x <= 1)) return Number.NaN;
  if (n === 1) return 1 - x;
  if (x === 0) return 1;
  if (x === 1) return 0;
  const { floor: nxFloor, alpha } = splitNx(n, x);
  let lowerLast = n - nxFloor - (alpha === 0 ? 0 : 1);
  let upperFirst = n - nxFloor;
  if (alpha === 0) {
    lowerLast -= 1;
    upperFirst += 1;
  }
  if (nxFloor === 0 || (nxFloor === 1 && alpha === 0)) {
    return 1 - x * Math.exp((n - 1) * Math.log1p(x));
  }
  if (-2 * n * x * x < MINLOG) return 0;
  if (nxFloor >= n - 1) return Math.exp(n * Math.log1p(-x));
  if (n > SMIRNOV_MAX_COMPUTE_N) {
    const logp = -((6 * n * x + 1) ** 2) / 18 / n;
    return logp < -Math.LN2 ? Math.exp(logp) : 1 + Math.expm1(logp);
  }
  const upperTerms = n - upperFirst + 1;
  const useUpper =
    (upperTerms <= 1 && x < 0.5) ||
    (n >= SM_UPPERSUM_MIN_N && upperTerms <= SM_UPPER_MAX_TERMS && x <= 0.5 / Math.sqrt(n));
  const total = useUpper
    ? sumTerms(n, nxFloor, alpha, n, -1, upperTerms, Math.exp((n - 1) * Math.log1p(x)))
    : sumTerms(n, nxFloor, alpha, 0, 1, lowerLast + 1, Math.exp(n * Math.log1p(-x)) / x);
  const probability = x * total;
  const sf = useUpper ? 1 - probability : probability;
  return Math.min(1, Math.max(0, sf));
}

/** The Birnbaum–Tingey sum from v = start in `step`s, stopping as xsf `_smirnov` does. */
function sumTerms(
  n: number,
  nxFloor: number,
  alpha: number,
  start: number,
  step: number,
  terms: number,
  first: number,
): number {
  const sum = new CompensatedSum();
  sum.add(first);
  // log C(n, j), kept as a compensated sum of log((n − j)/(j + 1)) so that hundreds of thousands
  // of terms add no more than rounding noise (xsf keeps C(n, j) as a double-double mantissa).
  const logBinomial = new CompensatedSum();
  logBinomial.add(Math.log(n));
  const middle = Math.floor(n / 2);
  for (let j = 1; j < terms; j++) {
    const v = start + j * step;
    const { log, sign } = logTerm(n, v, nxFloor, alpha, logBinomial.value);
    const term = sign * Math.exp(log);
    if (Number.isFinite(term) && term !== 0) sum.add(term);
    if (term !== 0) {
      if (4 * (terms - j) * Math.abs(term) < EPSILON * sum.value && j !== terms - 1) break;
    } else if (j > middle) break;
    logBinomial.add(Math.log((n - j) / (j + 1)));
  }
  return sum.value;
}
