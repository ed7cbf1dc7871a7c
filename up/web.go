package up

import (
	"context"
	"net"

	"github.com/IBM/sarama"

	"github.com/pitwall/pitwall/dashboards/web"
	"github.com/pitwall/pitwall/track"
)

// listenWeb binds the pit wall page's address before anything starts, so
// a port in use is a clear error at once; nil without Config.Web.
func listenWeb(cfg Config) (net.Listener, error) {
	if cfg.Web == "" {
		return nil, nil
	}
	return web.Listen(cfg.Web)
}

// startWeb serves the pit wall page on ln (dashboards/web): the timing
// tower and the map of this run's laps (its processor's group) and of
// telemetry.live.
func (a *assembly) startWeb(ctx context.Context, ln net.Listener, timing track.Timing) error {
	if ln == nil {
		return nil
	}
	wc := web.Config{Brokers: a.brokers, Timing: timing, Drivers: a.cfg.Drivers, Group: a.cfg.Group,
		Session: a.session, Logger: a.cfg.Logger}
	if a.cfg.Alarms != nil {
		wc.AlarmRules = a.cfg.Alarms.Names()
	}
	wc.Sarama = sarama.NewConfig()
	wc.Sarama.ClientID = "pitwall-up-web"
	if err := a.cfg.Security.Sarama(wc.Sarama); err != nil {
		ln.Close()
		return err
	}
	srv, err := web.New(wc)
	if err != nil {
		ln.Close()
		return err
	}
	url := "http://" + ln.Addr().String() + "/"
	a.cfg.Logger.Info("up: pit wall page ready", "url", url)
	if a.cfg.OnWeb != nil {
		a.cfg.OnWeb(url)
	}
	a.goRun(ctx, "web", func() error { return srv.Serve(ctx, ln) })
	return nil
}
