// graphql-codegen's document loader for docs/api-guide.md: every ```graphql block of
// the guide, one operation each (tests/test_api_guide.py checks the same blocks).
const { readFileSync } = require("node:fs");
const { parse, concatAST } = require("graphql");

module.exports = (pointer) => {
  const text = readFileSync(pointer, "utf8");
  const blocks = [...text.matchAll(/^```graphql\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
  return concatAST(blocks.map((block) => parse(block)));
};
