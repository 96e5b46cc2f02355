export function scale(x, k) {
  return x * k;
}
