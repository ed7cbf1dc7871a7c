// Pitwall Live: the frontend half of the plugin, plain JavaScript loaded by
// Grafana as an AMD/SystemJS module (no build step). The backend
// (gpx_pitwall_live) answers queries and streams; this file only provides
// the query editor (car, channels, window, stream) and the config editor
// (brokers, topics), built with React and @grafana/data / @grafana/runtime
// that Grafana itself provides at runtime.
define(['react', '@grafana/data', '@grafana/runtime'], function (React, grafanaData, grafanaRuntime) {
  'use strict';
  var h = React.createElement;

  function field(label, input) {
    return h('div', { className: 'gf-form', style: { marginRight: 8 } },
      h('label', { className: 'gf-form-label width-7' }, label), input);
  }

  // QueryEditor edits {car, channels, windowSeconds, stream}.
  function QueryEditor(props) {
    var q = props.query || {};
    function set(patch) {
      props.onChange(Object.assign({}, q, patch));
      if (props.onRunQuery) { props.onRunQuery(); }
    }
    var channels = (q.channels || []).join(', ');
    return h('div', { className: 'gf-form-inline' },
      field('Car', h('input', {
        className: 'gf-form-input width-8', placeholder: 'car01 or $car', defaultValue: q.car || '',
        onBlur: function (e) { set({ car: e.target.value.trim() }); }
      })),
      field('Channels', h('input', {
        className: 'gf-form-input width-20', placeholder: 'speed, rpm, throttle', defaultValue: channels,
        onBlur: function (e) {
          set({ channels: e.target.value.split(',').map(function (s) { return s.trim(); }).filter(Boolean) });
        }
      })),
      field('Window (s)', h('input', {
        className: 'gf-form-input width-5', type: 'number', min: 1, max: 600, defaultValue: q.windowSeconds || 30,
        onBlur: function (e) { set({ windowSeconds: parseInt(e.target.value, 10) || 30 }); }
      })),
      field('Stream', h('input', {
        type: 'checkbox', defaultChecked: q.stream !== false,
        onChange: function (e) { set({ stream: e.target.checked }); }
      })));
  }

  // ConfigEditor edits jsonData {brokers, topic, channelsTopic}.
  function ConfigEditor(props) {
    var o = props.options;
    var jd = o.jsonData || {};
    function set(key, value) {
      var next = Object.assign({}, jd);
      next[key] = value;
      props.onOptionsChange(Object.assign({}, o, { jsonData: next }));
    }
    function input(key, label, placeholder) {
      return field(label, h('input', {
        className: 'gf-form-input width-20', placeholder: placeholder, value: jd[key] || '',
        onChange: function (e) { set(key, e.target.value); }
      }));
    }
    return h('div', { className: 'gf-form-group' },
      input('brokers', 'Brokers', '127.0.0.1:9092'),
      input('topic', 'Topic', 'telemetry'),
      input('channelsTopic', 'Catalogs', 'telemetry.channels'));
  }

  // DataSource passes queries to the backend, substituting dashboard
  // variables ($car) first; frames carrying a Live channel make Grafana
  // subscribe to the stream.
  // DataSourceWithBackend is an ES class: construct it with Reflect so
  // this plain function can extend it without a build step.
  var Base = grafanaRuntime.DataSourceWithBackend;
  function DataSource(settings) {
    return Reflect.construct(Base, [settings], DataSource);
  }
  DataSource.prototype = Object.create(Base.prototype);
  DataSource.prototype.constructor = DataSource;
  Object.setPrototypeOf(DataSource, Base);
  DataSource.prototype.applyTemplateVariables = function (query, scopedVars) {
    var srv = grafanaRuntime.getTemplateSrv();
    return Object.assign({}, query, {
      car: srv.replace(query.car || '', scopedVars),
      channels: (query.channels || []).map(function (c) { return srv.replace(c, scopedVars); })
    });
  };
  DataSource.prototype.filterQuery = function (query) {
    return !!query.car && (query.channels || []).length > 0;
  };

  var plugin = new grafanaData.DataSourcePlugin(DataSource)
    .setQueryEditor(QueryEditor)
    .setConfigEditor(ConfigEditor);
  return { plugin: plugin };
});
