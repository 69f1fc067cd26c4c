// Prints the plain closing line CI reads, `N passed, N failed, N skipped`, from vitest's JSON report
// (node .ci/report-summary.mjs <report.json>). Exit 0 only when tests ran and none failed: 1 when a test or a
// test file failed or nothing ran, 2 when the report is missing or unreadable.
import { existsSync, readFileSync } from "node:fs";

const file = process.argv[2];
if (!file || !existsSync(file)) {
  console.error(`no vitest JSON report at ${file ?? "(no path given)"}`);
  process.exit(2);
}
let report;
try {
  report = JSON.parse(readFileSync(file, "utf8"));
} catch (error) {
  console.error(`unreadable vitest JSON report ${file}: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
}
const count = (key) => (typeof report[key] === "number" ? report[key] : 0);
const skipped = count("numPendingTests") + count("numTodoTests");
console.log(`${count("numPassedTests")} passed, ${count("numFailedTests")} failed, ${skipped} skipped`);
if (count("numFailedTests") > 0 || count("numFailedTestSuites") > 0) process.exit(1);
if (count("numTotalTests") === 0) {
  console.error("no test ran");
  process.exit(1);
}
