// jest runs the rendering tests (miniprogram-simulate in jsdom); the logic tests run under node:test (npm run test:logic).
module.exports = {
  testEnvironment: 'jsdom',
  testEnvironmentOptions: { url: 'https://jest.test' },
  testMatch: ['<rootDir>/tests/mp/{wechat,alipay}/**/*.test.js'],
  testPathIgnorePatterns: ['/node_modules/', '/fixtures/'],
}
