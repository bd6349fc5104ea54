// One entry, one bundle: assets/src/index.js -> assets/dist/main.js.
const path = require("path");

module.exports = {
  entry: "./assets/src/index.js",
  output: {
    path: path.resolve(__dirname, "assets/dist"),
    filename: "main.js",
  },
};
