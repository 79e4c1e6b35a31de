// Package registry manages registered token records (report, app-view and API tokens): their lifecycle, activity logs and owner roles.
package registry
