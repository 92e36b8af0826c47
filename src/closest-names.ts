// "Did you mean …?" for unknown flags, options and directives.

/** Names among `known` close enough to `name` to be what was meant, best first. */
export function closestNames(name: string, known: readonly string[], limit = 2): string[] {
  const wanted = name.toLowerCase()
  return known
    .map((candidate) => {
      const lower = candidate.toLowerCase()
      // A name typed in part ("node_names" for "output_node_names") is a good hint.
      const distance = lower.includes(wanted) || wanted.includes(lower) ? 1 : editDistance(wanted, lower)
      return { candidate, distance }
    })
    .filter(({ candidate, distance }) => distance <= Math.max(2, Math.floor(candidate.length / 3)))
    .sort((a, b) => a.distance - b.distance)
    .slice(0, limit)
    .map(({ candidate }) => candidate)
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 0; i < a.length; i++) {
    const current = [i + 1]
    for (let j = 0; j < b.length; j++) {
      current.push(Math.min(previous[j]! + (a[i] === b[j] ? 0 : 1), previous[j + 1]! + 1, current[j]! + 1))
    }
    previous = current
  }
  return previous[b.length]!
}
