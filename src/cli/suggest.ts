/** The known name closest to a mistyped one, or null when none is near enough to be what was meant. */
export function closestName(typed: string, names: readonly string[]): string | null {
  const lower = typed.toLowerCase();
  // A prefix ("insp") is what was meant; failing that, a couple of typos ("recrod").
  const extended = lower.length >= 2 ? names.find((name) => name.startsWith(lower)) : undefined;
  if (extended !== undefined) return extended;
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const name of names) {
    const distance = editDistance(lower, name);
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  // Beyond a typo or two per three letters a guess would mislead.
  return bestDistance <= Math.max(1, Math.floor(typed.length / 3)) ? best : null;
}

/** Levenshtein distance, with a swap of two neighbours counted as one edit. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = rows[i]!;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row[j] = Math.min(rows[i - 1]![j]! + 1, row[j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j]!, rows[i - 2]![j - 2]! + 1);
    }
  }
  return rows[a.length]![b.length]!;
}
