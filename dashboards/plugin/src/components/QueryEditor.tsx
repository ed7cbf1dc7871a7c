import React, { ChangeEvent, useEffect, useState } from 'react';
import { QueryEditorProps } from '@grafana/data';
import { InlineField, InlineFieldRow, InlineSwitch, Input, RadioButtonGroup, TagsInput } from '@grafana/ui';

import { DataSource } from '../datasource';
import {
  DEFAULT_WINDOW_SECONDS,
  isLive,
  KIND_FRAMES,
  KIND_LIVE,
  LIVE_FIELDS,
  parseFields,
  QueryKind,
  validLiveField,
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

const KINDS = [
  { label: 'Channels', value: KIND_FRAMES, description: "A car's channels from the frames topic" },
  { label: 'Live timing', value: KIND_LIVE, description: 'Laps in progress from telemetry.live: live delta, lap, sector, ...' },
];

// QueryEditor edits a panel target: its kind; for channels the car (an id
// or $car) and its channels (names from the car's catalog, or variables);
// for live timing the car (empty: every car) and the fields; the window
// QueryData reads and whether the panel then streams. Text is committed
// on blur, so a query runs once per edit rather than once per keystroke.
export function QueryEditor({ query, onChange, onRunQuery }: Props) {
  const [car, setCar] = useState(query.car ?? '');
  const [windowText, setWindowText] = useState(String(query.windowSeconds ?? DEFAULT_WINDOW_SECONDS));
  useEffect(() => setCar(query.car ?? ''), [query.car]);
  useEffect(() => setWindowText(String(query.windowSeconds ?? DEFAULT_WINDOW_SECONDS)), [query.windowSeconds]);

  const update = (patch: Partial<PitwallQuery>, replace = false) => {
    onChange(replace ? (patch as PitwallQuery) : { ...query, ...patch });
    onRunQuery();
  };
  const live = isLive(query);
  const channels = query.channels ?? [];
  const badChannels = channels.filter((c) => !validChannel(c));
  const fields = query.fields ?? [];
  const badFields = fields.filter((f) => !validLiveField(f));
  // Switching kind keeps the car, window and stream; the other kind's
  // channels or fields go, as the backend refuses a target with both.
  const setKind = (kind: QueryKind) => {
    const { channels: _c, fields: _f, ...rest } = query;
    update(kind === KIND_LIVE ? { ...rest, kind, fields: [] } : { ...rest, kind, channels: [] }, true);
  };

  return (
    <InlineFieldRow>
      <InlineField label="Kind" labelWidth={8}>
        <RadioButtonGroup<QueryKind> id="pitwall-kind" options={KINDS} value={live ? KIND_LIVE : KIND_FRAMES} onChange={setKind} />
      </InlineField>
      <InlineField label="Car" labelWidth={8} invalid={car !== '' && !validCar(car)} error="Letters, digits, '.', '_' and '-'">
        <Input
          id="pitwall-car"
          width={16}
          placeholder={live ? 'every car' : 'car01 or $car'}
          value={car}
          onChange={(e: ChangeEvent<HTMLInputElement>) => setCar(e.currentTarget.value)}
          onBlur={() => {
            if (car.trim() !== (query.car ?? '')) {
              update({ car: car.trim() });
            }
          }}
        />
      </InlineField>
      {live ? (
        <InlineField
          label="Fields"
          labelWidth={8}
          tooltip={`Some of ${LIVE_FIELDS.join(', ')}; none is all of them`}
          invalid={badFields.length > 0}
          error={`Not a live field: ${badFields.join(', ')}`}
        >
          <TagsInput
            id="pitwall-fields"
            width={40}
            placeholder="delta_best_s, then Enter (none: all)"
            addOnBlur
            tags={fields}
            onChange={(tags: string[]) => {
              const typed = parseChannels(tags.join(' '));
              update({ fields: [...parseFields(typed), ...typed.filter((f) => !validLiveField(f))] });
            }}
          />
        </InlineField>
      ) : (
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
      )}
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
