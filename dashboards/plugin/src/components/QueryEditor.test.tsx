import React from 'react';
import { fireEvent, render, screen } from '@testing-library/react';

import { DataSource } from '../datasource';
import { PitwallQuery } from '../types';
import { QueryEditor } from './QueryEditor';

function setup(query: PitwallQuery) {
  const onChange = jest.fn();
  const onRunQuery = jest.fn();
  const view = render(
    <QueryEditor datasource={{} as DataSource} query={query} onChange={onChange} onRunQuery={onRunQuery} />
  );
  return { onChange, onRunQuery, view };
}

const base: PitwallQuery = { refId: 'A', car: 'car01', channels: ['speed', 'rpm'], windowSeconds: 30, stream: true };

describe('QueryEditor', () => {
  it('shows the target', () => {
    setup(base);
    expect(screen.getByDisplayValue('car01')).toBeTruthy();
    expect(screen.getByText('speed')).toBeTruthy();
    expect(screen.getByText('rpm')).toBeTruthy();
    expect(screen.getByDisplayValue('30')).toBeTruthy();
    expect((document.getElementById('pitwall-stream') as HTMLInputElement).checked).toBe(true);
  });

  it('commits the car on blur, trimmed, and runs the query once', () => {
    const { onChange, onRunQuery } = setup(base);
    const car = screen.getByDisplayValue('car01');
    fireEvent.change(car, { target: { value: ' $car ' } });
    expect(onChange).not.toHaveBeenCalled();
    fireEvent.blur(car);
    expect(onChange).toHaveBeenCalledWith({ ...base, car: '$car' });
    expect(onRunQuery).toHaveBeenCalledTimes(1);
  });

  it('does not run the query when a blur changed nothing', () => {
    const { onChange } = setup(base);
    fireEvent.blur(screen.getByDisplayValue('car01'));
    expect(onChange).not.toHaveBeenCalled();
  });

  it('adds channels typed as a list, without repeats', () => {
    const { onChange } = setup(base);
    const input = screen.getByPlaceholderText('speed, then Enter');
    fireEvent.change(input, { target: { value: 'throttle, brake_front rpm' } });
    fireEvent.keyDown(input, { key: 'Enter' });
    expect(onChange).toHaveBeenCalledWith({ ...base, channels: ['speed', 'rpm', 'throttle', 'brake_front'] });
  });

  it('removes a channel', () => {
    const { onChange } = setup(base);
    fireEvent.click(screen.getAllByRole('button', { name: /remove/i })[0]);
    expect(onChange).toHaveBeenCalledWith({ ...base, channels: ['rpm'] });
  });

  it('clamps the window to what the backend accepts', () => {
    const { onChange } = setup(base);
    const w = screen.getByDisplayValue('30');
    fireEvent.change(w, { target: { value: '900' } });
    fireEvent.blur(w);
    expect(onChange).toHaveBeenCalledWith({ ...base, windowSeconds: 600 });
    expect(screen.getByDisplayValue('600')).toBeTruthy();
  });

  it('switches streaming off', () => {
    const { onChange, onRunQuery } = setup(base);
    fireEvent.click(document.getElementById('pitwall-stream')!);
    expect(onChange).toHaveBeenCalledWith({ ...base, stream: false });
    expect(onRunQuery).toHaveBeenCalled();
  });

  it('marks a car id the backend would refuse', () => {
    setup({ ...base, car: 'car 01' });
    expect(screen.getByText("Letters, digits, '.', '_' and '-'")).toBeTruthy();
  });

  it('marks a channel name the backend would refuse', () => {
    setup({ ...base, channels: ['speed', 'brake-front'] });
    expect(screen.getByText('Not a channel name: brake-front')).toBeTruthy();
  });
});

describe('QueryEditor, live timing', () => {
  const live: PitwallQuery = { refId: 'A', kind: 'live', car: '', fields: ['delta_best_s'], windowSeconds: 30, stream: true };

  it('switches a channels target to live timing, dropping its channels', () => {
    const { onChange, onRunQuery } = setup(base);
    fireEvent.click(screen.getByText('Live timing'));
    expect(onChange).toHaveBeenCalledWith({ refId: 'A', kind: 'live', car: 'car01', fields: [], windowSeconds: 30, stream: true });
    expect(onRunQuery).toHaveBeenCalledTimes(1);
  });

  it('switches back to channels, dropping the fields', () => {
    const { onChange } = setup(live);
    fireEvent.click(screen.getByText('Channels'));
    expect(onChange).toHaveBeenCalledWith({ refId: 'A', kind: 'frames', car: '', channels: [], windowSeconds: 30, stream: true });
  });

  it('offers every car when the car is empty, and shows the fields', () => {
    setup(live);
    expect(screen.getByPlaceholderText('every car')).toBeTruthy();
    expect(screen.getByText('delta_best_s')).toBeTruthy();
    expect(screen.queryByPlaceholderText('speed, then Enter')).toBeNull();
  });

  it("keeps fields in the backend's order, each once", () => {
    const { onChange } = setup(live);
    const input = screen.getByPlaceholderText('delta_best_s, then Enter (none: all)');
    fireEvent.change(input, { target: { value: 'sector lap, delta_best_s' } });
    fireEvent.keyDown(input, { key: 'Enter' });
    expect(onChange).toHaveBeenCalledWith({ ...live, fields: ['delta_best_s', 'lap', 'sector'] });
  });

  it('marks a field the backend would refuse', () => {
    setup({ ...live, fields: ['delta_best_s', 'warp'] });
    expect(screen.getByText('Not a live field: warp')).toBeTruthy();
  });
});
