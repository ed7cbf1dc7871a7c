// Unit tests of the editors and the datasource (`npm test`, run by `make
// test`), in jsdom as create-plugin's jest config runs them: swc compiles
// TypeScript, and also the packages @grafana/data and @grafana/ui import
// that ship only ES modules (d3's, OpenLayers); @grafana/ui's CSS imports
// resolve to an empty module.
const esModules = ['d3', 'd3-[a-z-]+', 'internmap', 'ol'];

module.exports = {
  testEnvironment: 'jsdom',
  testMatch: ['<rootDir>/src/**/*.test.{ts,tsx}'],
  setupFiles: ['<rootDir>/jest.setup.js'],
  transform: {
    '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript', tsx: true }, transform: { react: { runtime: 'classic' } } } }],
  },
  transformIgnorePatterns: [`node_modules/(?!(${esModules.join('|')})/)`],
  moduleNameMapper: { '\\.(css|scss|sass)$': '<rootDir>/jest.style.js' },
};
