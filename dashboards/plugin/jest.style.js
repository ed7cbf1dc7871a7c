// The empty module jest.config.js maps stylesheet imports to.
module.exports = {};
