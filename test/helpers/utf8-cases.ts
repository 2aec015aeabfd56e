/**
 * UTF-8 fixtures shared by the validator and engine tests: valid text at every sequence-length
 * boundary with the SPEC.md K6 noncharacters, and the K5 invalid sequences.
 *
 * @module
 */

/** Valid UTF-8, including the boundaries of every sequence length and the K6 noncharacters. */
export const VALID_UTF8: readonly [string, string][] = [
  ["empty", ""],
  ["ASCII", "48 65 6c 6c 6f"],
  ["U+0000", "00"],
  ["U+007F", "7f"],
  ["U+0080 (smallest 2-byte)", "c2 80"],
  ["U+07FF (largest 2-byte)", "df bf"],
  ["U+0800 (smallest 3-byte)", "e0 a0 80"],
  ["U+D7FF (below the surrogates)", "ed 9f bf"],
  ["U+E000 (above the surrogates)", "ee 80 80"],
  ["U+FFFD", "ef bf bd"],
  ["K6 noncharacter U+FFFE", "ef bf be"],
  ["K6 noncharacter U+FFFF", "ef bf bf"],
  ["K6 noncharacter U+FDD0", "ef b7 90"],
  ["K6 noncharacter U+FDEF", "ef b7 af"],
  ["K6 noncharacter U+1FFFE", "f0 9f bf be"],
  ["K6 noncharacter U+10FFFF", "f4 8f bf bf"],
  ["U+10000 (smallest 4-byte)", "f0 90 80 80"],
  ["κόσμε", "ce ba e1 bd b9 ce bc ce b5"],
  ["BOM (kept, never special)", "ef bb bf 41"],
];

/**
 * K5 invalid sequences, with the index of the byte at which the stream becomes invalid (where
 * a fail-fast validator must stop), or "end" when only the end of the message is wrong.
 */
export const INVALID_UTF8: readonly [string, string, number | "end"][] = [
  ["overlong C0 80", "c0 80", 0],
  ["overlong C1 BF", "c1 bf", 0],
  ["overlong E0 80 80", "e0 80 80", 1],
  ["overlong E0 9F BF", "e0 9f bf", 1],
  ["overlong F0 80 80 80", "f0 80 80 80", 1],
  ["overlong F0 8F BF BF", "f0 8f bf bf", 1],
  ["surrogate ED A0 80 (U+D800)", "ed a0 80", 1],
  ["surrogate ED BF BF (U+DFFF)", "ed bf bf", 1],
  ["above U+10FFFF: F4 90 80 80", "f4 90 80 80", 1],
  ["above U+10FFFF: F5", "f5 80 80 80", 0],
  ["F8", "f8 88 80 80 80", 0],
  ["FE", "fe", 0],
  ["FF", "ff", 0],
  ["stray continuation 80", "80", 0],
  ["stray continuation BF after ASCII", "41 bf", 1],
  ["lead then ASCII", "c2 41", 1],
  ["3-byte lead, one continuation, then ASCII", "e2 82 41", 2],
  ["4-byte lead, two continuations, then ASCII", "f0 9f 98 41", 3],
  ["a fifth byte in a 4-byte sequence", "f0 90 80 80 80", 4],
  ["AB 6.x: κόσμε then a surrogate", "ce ba e1 bd b9 ce bc ce b5 ed a0 80 65 64 69 74 65 64", 10],
  ["cut short: 2-byte lead at the end", "c3", "end"],
  ["cut short: 3-byte sequence missing one byte", "e2 82", "end"],
  ["cut short: 4-byte sequence missing one byte", "f0 9f 98", "end"],
  ["cut short after ASCII", "48 65 6c 6c 6f f0 9f", "end"],
];
