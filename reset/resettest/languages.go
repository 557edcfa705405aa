package resettest

import (
	"sync"

	"resetgate/i18n"
	"resetgate/reset"
)

// catalogue is the shipped one, loaded once for every test of a binary.
var catalogue = sync.OnceValues(func() (*i18n.Catalog, error) { return i18n.Load(i18n.Options{}) })

// Languages returns the shipped catalogues, English by default, as the domain sees them: what
// main wires into reset.Options.Languages. It panics if they do not load, which
// i18n's own tests would report first.
func Languages() reset.Languages {
	c, err := catalogue()
	if err != nil {
		panic(err)
	}
	return languages{c}
}

type languages struct{ *i18n.Catalog }

func (l languages) Language(tag string) reset.Language { return l.Catalog.Language(tag) }
