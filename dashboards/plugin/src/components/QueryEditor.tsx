import React, { ChangeEvent, useEffect, useState } from 'react';
import { QueryEditorProps } from '@grafana/data';
import { InlineField, InlineFieldRow, InlineSwitch, Input, TagsInput } from '@grafana/ui';

import { DataSource } from '../datasource';
import {
  DEFAULT_WINDOW_SECONDS,
  MAX_CHANNELS,
  MAX_WINDOW_SECONDS,
  parseChannels,
  parseWindow,
  PitwallOptions,
  PitwallQuery,
  validCar,
  validChannel,
} from '../types';

type Props = QueryEditorProps<DataSource, PitwallQuery, PitwallOptions>;

// QueryEditor edits a panel target: the car (an id or $car), its channels
// (names from the car's catalog, or variables), the window QueryData reads
// and whether the panel then streams. Text is committed on blur, so a
// query runs once per edit rather than once per keystroke.
export function QueryEditor({ query, onChange, onRunQuery }: Props) {
  const [car, setCar] = useState(query.car ?? '');
  const [windowText, setWindowText] = useState(String(query.windowSeconds ?? DEFAULT_WINDOW_SECONDS));
  useEffect(() => setCar(query.car ?? ''), [query.car]);
  useEffect(() => setWindowText(String(query.windowSeconds ?? DEFAULT_WINDOW_SECONDS)), [query.windowSeconds]);

  const update = (patch: Partial<PitwallQuery>) => {
    onChange({ ...query, ...patch });
    onRunQuery();
  };
  const channels = query.channels ?? [];
  const badChannels = channels.filter((c) => !validChannel(c));

  return (
    <InlineFieldRow>
      <InlineField label="Car" labelWidth={8} invalid={car !== '' && !validCar(car)} error="Letters, digits, '.', '_' and '-'">
        <Input
          id="pitwall-car"
          width={16}
          placeholder="car01 or $car"
          value={car}
          onChange={(e: ChangeEvent<HTMLInputElement>) => setCar(e.currentTarget.value)}
          onBlur={() => {
            if (car.trim() !== (query.car ?? '')) {
              update({ car: car.trim() });
            }
          }}
        />
      </InlineField>
      <InlineField
        label="Channels"
        labelWidth={10}
        tooltip={`Up to ${MAX_CHANNELS} channel names from the car's catalog (speed, rpm, throttle, ...) or variables`}
        invalid={badChannels.length > 0 || channels.length > MAX_CHANNELS}
        error={badChannels.length > 0 ? `Not a channel name: ${badChannels.join(', ')}` : `At most ${MAX_CHANNELS} channels`}
      >
        <TagsInput
          id="pitwall-channels"
          width={40}
          placeholder="speed, then Enter"
          addOnBlur
          tags={channels}
          onChange={(tags: string[]) => update({ channels: parseChannels(tags.join(' ')) })}
        />
      </InlineField>
      <InlineField label="Window" labelWidth={9} tooltip={`Seconds of history read before streaming, 1 to ${MAX_WINDOW_SECONDS}`}>
        <Input
          id="pitwall-window"
          width={10}
          type="number"
          min={1}
          max={MAX_WINDOW_SECONDS}
          suffix="s"
          value={windowText}
          onChange={(e: ChangeEvent<HTMLInputElement>) => setWindowText(e.currentTarget.value)}
          onBlur={() => {
            const w = parseWindow(windowText);
            setWindowText(String(w));
            if (w !== query.windowSeconds) {
              update({ windowSeconds: w });
            }
          }}
        />
      </InlineField>
      <InlineField label="Stream" labelWidth={8} tooltip="Push new samples through Grafana Live after the window">
        <InlineSwitch
          id="pitwall-stream"
          value={!!query.stream}
          onChange={(e: React.FormEvent<HTMLInputElement>) => update({ stream: e.currentTarget.checked })}
        />
      </InlineField>
    </InlineFieldRow>
  );
}
