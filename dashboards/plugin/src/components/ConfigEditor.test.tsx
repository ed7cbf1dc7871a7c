import React from 'react';
import { fireEvent, render, screen } from '@testing-library/react';
import { DataSourceSettings } from '@grafana/data';

import { PitwallOptions } from '../types';
import { ConfigEditor } from './ConfigEditor';

const options = {
  id: 1,
  uid: 'pitwall-live',
  name: 'Pitwall Live',
  type: 'pitwall-live-datasource',
  jsonData: { brokers: 'broker:9092', topic: 'telemetry' },
  secureJsonFields: {},
} as unknown as DataSourceSettings<PitwallOptions>;

function setup() {
  const onOptionsChange = jest.fn();
  render(<ConfigEditor options={options} onOptionsChange={onOptionsChange} />);
  return onOptionsChange;
}

describe('ConfigEditor', () => {
  it('shows the settings, and the defaults as placeholders', () => {
    setup();
    expect(screen.getByDisplayValue('broker:9092')).toBeTruthy();
    expect(screen.getByDisplayValue('telemetry')).toBeTruthy();
    expect((document.getElementById('pitwall-channelsTopic') as HTMLInputElement).placeholder).toBe('telemetry.channels');
  });

  it('sets a field in jsonData', () => {
    const onOptionsChange = setup();
    fireEvent.change(document.getElementById('pitwall-channelsTopic')!, { target: { value: 'cars.channels' } });
    expect(onOptionsChange).toHaveBeenCalledWith({
      ...options,
      jsonData: { brokers: 'broker:9092', topic: 'telemetry', channelsTopic: 'cars.channels' },
    });
  });

  it('drops spaces from the broker list, which the backend would dial as they are', () => {
    const onOptionsChange = setup();
    fireEvent.change(screen.getByDisplayValue('broker:9092'), { target: { value: 'a:9092, b:9092' } });
    expect(onOptionsChange.mock.calls[0][0].jsonData.brokers).toBe('a:9092,b:9092');
  });

  it('removes an emptied field, so the backend uses its default', () => {
    const onOptionsChange = setup();
    fireEvent.change(screen.getByDisplayValue('telemetry'), { target: { value: ' ' } });
    expect(onOptionsChange).toHaveBeenCalledWith({ ...options, jsonData: { brokers: 'broker:9092' } });
  });
});

describe('ConfigEditor security', () => {
  it('sets the SASL mechanism in Kafka spelling and the user in jsonData', () => {
    const onOptionsChange = setup();
    fireEvent.change(document.getElementById('pitwall-saslMechanism')!, { target: { value: ' scram-sha-512 ' } });
    expect(onOptionsChange.mock.calls[0][0].jsonData.saslMechanism).toBe('SCRAM-SHA-512');
    fireEvent.change(document.getElementById('pitwall-saslUser')!, { target: { value: 'grafana' } });
    expect(onOptionsChange.mock.calls[1][0].jsonData.saslUser).toBe('grafana');
  });

  it('turns TLS on in jsonData', () => {
    const onOptionsChange = setup();
    fireEvent.click(document.getElementById('pitwall-tls')!);
    expect(onOptionsChange.mock.calls[0][0].jsonData.tls).toBe(true);
  });

  it('puts the password in secureJsonData, never in jsonData', () => {
    const onOptionsChange = setup();
    fireEvent.change(document.getElementById('pitwall-saslPassword')!, { target: { value: 's3cret' } });
    const next = onOptionsChange.mock.calls[0][0];
    expect(next.secureJsonData).toEqual({ saslPassword: 's3cret' });
    expect(JSON.stringify(next.jsonData)).not.toContain('s3cret');
  });

  it('shows a saved password as configured, without its value, and resets it', () => {
    const onOptionsChange = jest.fn();
    const saved = { ...options, secureJsonFields: { saslPassword: true } } as unknown as DataSourceSettings<PitwallOptions>;
    render(<ConfigEditor options={saved} onOptionsChange={onOptionsChange} />);
    fireEvent.click(screen.getByText('Reset'));
    expect(onOptionsChange.mock.calls[0][0].secureJsonFields.saslPassword).toBe(false);
    expect(onOptionsChange.mock.calls[0][0].secureJsonData.saslPassword).toBe('');
  });
});
