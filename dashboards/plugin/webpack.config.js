// Builds dist/module.js, the frontend Grafana loads, as create-plugin's
// webpack config does: one AMD module, TypeScript compiled by swc, and
// everything Grafana already provides at runtime left external.
const path = require('path');

module.exports = (_env, argv) => ({
  mode: argv.mode ?? 'production',
  context: __dirname,
  entry: { module: './src/module.ts' },
  output: {
    path: path.resolve(__dirname, 'dist'),
    filename: '[name].js',
    library: { type: 'amd' },
    publicPath: 'public/plugins/pitwall-live-datasource/',
    uniqueName: 'pitwall-live-datasource',
    clean: true,
  },
  externals: [
    'react',
    'react-dom',
    '@grafana/data',
    '@grafana/runtime',
    '@grafana/ui',
    '@emotion/css',
    '@emotion/react',
    'rxjs',
    'lodash',
  ],
  resolve: { extensions: ['.ts', '.tsx', '.js'] },
  module: {
    rules: [
      {
        test: /\.tsx?$/,
        exclude: /node_modules/,
        use: {
          loader: 'swc-loader',
          options: { jsc: { target: 'es2018', parser: { syntax: 'typescript', tsx: true } } },
        },
      },
    ],
  },
  devtool: 'source-map',
  performance: { hints: false },
});
