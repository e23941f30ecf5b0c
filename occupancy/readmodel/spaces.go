package readmodel

import (
	"context"

	"github.com/qiuai/parking/occupancy"
)

// The reads of single spaces and listings. The store answers them (it
// holds each space's whole state); while it does not (outage.go), the
// model answers from memory what it holds: every space's status, and the
// whole state of the free ones (unless Confirm), marked stale.

// States returns the states of registry spaces, in the same order: the
// store's, or, if it does not answer, those the model holds (a space not
// free has its status only, its times zero), marked stale. EUNAVAILABLE
// when neither can answer.
func (m *Model) States(ctx context.Context, spaces []occupancy.Space) ([]occupancy.SpaceState, error) {
	var out []occupancy.SpaceState
	asked, err := m.ask(func() (err error) { out, err = m.opts.Store.States(ctx, spaces); return err })
	if asked {
		return out, err
	}
	v, _ := m.current()
	if v == nil {
		return nil, err
	}
	m.markStale(ctx)
	return v.heldStates(spaces), nil
}

// Space returns one space's state as States does. ENOTFOUND for a space
// not in the registry; EUNAVAILABLE when neither memory nor the store can
// answer.
func (m *Model) Space(ctx context.Context, id string) (occupancy.SpaceState, error) {
	sp, ok := m.opts.Registry.Space(id)
	if !ok {
		return occupancy.SpaceState{}, occupancy.Errorf(occupancy.ENOTFOUND, "space %s not found", id)
	}
	states, err := m.States(ctx, []occupancy.Space{sp})
	if err != nil {
		return occupancy.SpaceState{}, err
	}
	return states[0], nil
}

// ListSpaces returns the registry's spaces that match f, in ID order, with
// their states as States reads them, and the cursor of the next page (""
// on the last): occupancy.ListSpaces over States. EINVALID for a bad
// filter, ENOTFOUND for an unknown zone, EUNAVAILABLE when neither memory
// nor the store can answer.
func (m *Model) ListSpaces(ctx context.Context, f occupancy.SpaceFilter) ([]occupancy.SpaceState, string, error) {
	return occupancy.ListSpaces(ctx, m.opts.Registry, m.States, f)
}

// heldStates returns the states the view holds of spaces: status, and the
// whole state of a free space whose state it holds. A space the view does
// not have (the registry changed) is unknown.
func (v *view) heldStates(spaces []occupancy.Space) []occupancy.SpaceState {
	out := make([]occupancy.SpaceState, len(spaces))
	v.mu.RLock()
	defer v.mu.RUnlock()
	for i, sp := range spaces {
		out[i] = occupancy.SpaceState{SpaceID: sp.ID, Status: occupancy.StatusUnknown}
		zi, ok := v.zoneIdx[sp.ZoneID]
		if !ok {
			continue
		}
		n, ok := v.find(zi, sp.ID)
		if !ok {
			continue
		}
		if v.keepStates && v.states[n] != nil {
			out[i] = v.states[n].state(sp.ID)
			continue
		}
		out[i].Status = statusName[v.status[n]]
	}
	return out
}

// statusName is the status of a view's status letter.
var statusName = map[byte]occupancy.Status{'f': occupancy.StatusFree, 'o': occupancy.StatusOccupied,
	'u': occupancy.StatusUnknown, 'c': occupancy.StatusClosed}
