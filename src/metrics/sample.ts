/**
 * Reservoir sampling: keeps `sample` a uniform sample of at most `cap` of the values seen so
 * far, `value` being the `seen`-th (counting from 1). Quantiles from the sample are as good as
 * from every value, and what they are computed by pays per sample, not per value.
 */
export function sampleInto(sample: number[], seen: number, cap: number, value: number): void {
  if (sample.length < cap) sample.push(value);
  else {
    const slot = Math.floor(Math.random() * seen);
    if (slot < cap) sample[slot] = value;
  }
}
