package event

// Channel is the way a report reached the desk. The set is closed and small so
// that the engine counts reports by channel in a fixed array, indexed by Channel.
type Channel uint8

const (
	ChannelUser Channel = iota // the default: a report from the app
	ChannelPartner
	ChannelRegulator
	ChannelLawEnforcement
	ChannelMedia
	ChannelInternal
	NumChannels = iota
)

// channelNames are the wire values, indexed by Channel.
var channelNames = [NumChannels]string{"user", "partner", "regulator", "law_enforcement", "media", "internal"}

func (c Channel) String() string {
	if int(c) < len(channelNames) {
		return channelNames[c]
	}
	return "unknown"
}

// ParseChannel returns the channel named s; "" is the default, ChannelUser.
func ParseChannel(s string) (Channel, bool) {
	if s == "" {
		return ChannelUser, true
	}
	for i, n := range channelNames {
		if n == s {
			return Channel(i), true
		}
	}
	return 0, false
}

// Channels returns every channel's wire name, in Channel order.
func Channels() []string { return append([]string(nil), channelNames[:]...) }
