import { DEFAULT_WINDOW_SECONDS, MAX_WINDOW_SECONDS, parseChannels, parseWindow, validCar, validChannel } from './types';

describe('parseChannels', () => {
  it.each([
    ['speed', ['speed']],
    ['speed, rpm', ['speed', 'rpm']],
    [' speed,,rpm  throttle ', ['speed', 'rpm', 'throttle']],
    ['rpm rpm speed rpm', ['rpm', 'speed']],
    ['', []],
    [' , ', []],
  ])('%j', (text, want) => {
    expect(parseChannels(text)).toEqual(want);
  });
});

describe('parseWindow', () => {
  it.each([
    ['30', 30],
    ['1', 1],
    ['0', 1],
    ['-5', 1],
    ['12.6', 13],
    ['601', MAX_WINDOW_SECONDS],
    ['', DEFAULT_WINDOW_SECONDS],
    ['abc', DEFAULT_WINDOW_SECONDS],
  ])('%j', (text, want) => {
    expect(parseWindow(text)).toBe(want);
  });
});

describe('validation as package telemetry does it', () => {
  it('accepts car ids and variables', () => {
    for (const car of ['car01', 'GT3-7', 'a.b_c', '$car', '${car}', 'x'.repeat(64)]) {
      expect(validCar(car)).toBe(true);
    }
    for (const car of ['', 'car 01', 'car/01', 'ä', 'x'.repeat(65)]) {
      expect(validCar(car)).toBe(false);
    }
  });
  it('accepts channel names, not car-only bytes', () => {
    for (const ch of ['speed', 'tyre_temp_fl_mid', 'g.lat', '$channels']) {
      expect(validChannel(ch)).toBe(true);
    }
    for (const ch of ['', 'brake-front', 'rpm max', 'x'.repeat(65)]) {
      expect(validChannel(ch)).toBe(false);
    }
  });
});
