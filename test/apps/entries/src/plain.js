// An entry with no model import: its build converts nothing.
export const answer = 42
